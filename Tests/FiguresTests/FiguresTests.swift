// Figures: known patch states and groups paint known colours; PNGs decode to the laid-out size; SVGs parse as XML
// and carry their labels as text.
import Foundation
import Pixels
import Testing
@testable import Figures
import ImageIO
@testable import TokenMethods
import ViTEngine

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A 2 x 2 grid of 2 x 2-pixel patches, one flat colour per patch.
let patchColours = [RGB(200, 40, 40), RGB(40, 200, 40), RGB(40, 40, 200), RGB(200, 200, 40)]
let tinyInput: PixelImage = {
  var pixels: [UInt8] = []
  for y in 0..<4 {
    for x in 0..<4 {
      let c = patchColours[(y / 2) * 2 + x / 2]
      pixels += [c.r, c.g, c.b]
    }
  }
  return PixelImage(width: 4, height: 4, channels: 3, pixels: pixels)
}()

func layer(states: [PatchState], groups: [Int], attention: [Float] = [0.1, 0.2, 0.3, 0.4]) -> LayerView {
  LayerView(index: 0, tokensIn: 5, tokensOut: 4, activeTokens: 5, macs: 100, cumulativeMACs: 150,
            entropy: [1], classEntropy: [1], event: nil, patchToken: groups.map { Int32($0) }, patchState: states,
            tokenSize: [1, 1, 1, 1], classAttention: [attention], group: groups, topIfStopped: [], cluster: nil, pruning: nil)
}

@Suite("Figures")
struct FiguresTests {
  let painter = TokenMapPainter(input: tinyInput, grid: (2, 2), scale: 3)

  @Test func statusViewFadesPrunedDimsIdleTintsFused() {
    let map = painter.paint(.status, layer: layer(states: [.kept, .pruned, .idle, .fused], groups: [0, -1, 2, 3]))
    #expect(map.width == 12 && map.height == 12)
    // Patch centres (4, 4), (10, 4), (4, 10), (10, 10) at scale 3.
    #expect(map[4, 4] == patchColours[0], "kept keeps its colour")
    #expect(map[10, 4] == patchColours[1].mixed(with: RGB(255, 255, 255), by: 0.85), "pruned fades to white")
    #expect(map[4, 10] == patchColours[2].mixed(with: RGB(0, 0, 0), by: 0.65), "idle is dimmed")
    #expect(map[10, 10] == patchColours[3].mixed(with: TokenMapPainter.fusedTint, by: 0.55), "fused is tinted")
    // No group has more than one patch: the status view draws no outlines.
    #expect(map[5, 4] == patchColours[0] && map[4, 5] == patchColours[0])
  }

  @Test func groupsViewFillsMeanColoursAndOutlinesGroups() {
    let map = painter.paint(.groups, layer: layer(states: [.merged, .merged, .kept, .pruned], groups: [0, 0, 2, -1]))
    let mean = RGB(120, 120, 40)  // (200 + 40) / 2, (40 + 200) / 2, (40 + 40) / 2
    #expect(map[4, 4] == mean && map[7, 4] == mean, "the merged pair shares its mean colour")
    #expect(map[4, 10] == patchColours[2])
    #expect(map[10, 10] == patchColours[3].mixed(with: RGB(255, 255, 255), by: 0.85))
    // The edge between the pair and the patch below is outlined; the edge inside the pair is not.
    #expect(map[4, 6] == TokenMapPainter.outline, "the line sits on the first pixel row of the patch below")
    #expect(map[5, 2] == mean, "no line inside a group")
    #expect(map[0, 2] == TokenMapPainter.outline, "the image border of a group is outlined")
  }

  @Test func attentionViewIsViridisOverTheGreyedImage() {
    let map = painter.paint(.attention, layer: layer(states: [.kept, .kept, .kept, .kept], groups: [0, 1, 2, 3]))
    let top = patchColours[3].mixed(with: RGB(128, 128, 128), by: 0.5).mixed(with: SequentialPalette.viridis.rgb(at: 1), by: 0.75)
    #expect(map[10, 10] == top, "the most attended patch gets the top of the scale")
  }

  /// A layer carrying annotations, as MethodRun maps them: one value or role per patch.
  func annotated(states: [PatchState], groups: [Int], _ notes: PatchAnnotations) -> LayerView {
    var l = layer(states: states, groups: groups)
    l.annotations = notes
    return l
  }

  func notes(score: TokenScore? = nil, roles: [TokenRole]? = nil, levels: MergeLevels? = nil) -> PatchAnnotations {
    var n = PatchAnnotations([RecordedAnnotations(annotations: TokenAnnotations(), patchToken: [0, 1, 2, 3])])!
    n.score = score; n.roles = roles; n.mergeLevels = levels
    return n
  }

  @Test func scoreViewIsViridisWithProtectedFramedAndThresholdDotted() {
    let score = TokenScore(name: "energy", meaning: "", values: [0.1, .nan, 0.3, 0.5], threshold: 0.4)
    let l = annotated(states: [.kept, .kept, .kept, .merged], groups: [0, 1, 2, 3],
                      notes(score: score, roles: [.protected, .ordinary, .ordinary, .ordinary]))
    let map = painter.paint(.score, layer: l)
    func heat(_ p: Int, _ t: Double) -> RGB {
      patchColours[p].mixed(with: RGB(128, 128, 128), by: 0.5).mixed(with: SequentialPalette.viridis.rgb(at: t), by: 0.75)
    }
    #expect(map[4, 4] == heat(0, 0), "the lowest score is the bottom of the scale (patch centre, inside its frame)")
    #expect(map[0, 0] == TokenMapPainter.protectedFrame && map[5, 3] == TokenMapPainter.protectedFrame, "protected patches are framed")
    #expect(map[10, 4] == patchColours[1].mixed(with: RGB(255, 255, 255), by: 0.85), "a patch without a score is faded")
    let middle = Double((Float(0.3) - 0.1) / (Float(0.5) - 0.1))  // the painter's float32 scaling of 0.3
    #expect(map[2, 8] == heat(2, middle) && map[0, 11] == heat(2, middle), "mid-scale, no frame, no dot")
    // Patch 3 spans pixels 6-11: its dot is the middle third, 8-9.
    #expect(map[8, 8] == TokenMapPainter.outline && map[7, 10] == heat(3, 1), "past the threshold: a dot at the centre")
    // A layer without a score is drawn as the status view.
    #expect(painter.paint(.score, layer: layer(states: [.kept, .pruned, .kept, .kept], groups: [0, -1, 2, 3]))[10, 4]
            == patchColours[1].mixed(with: RGB(255, 255, 255), by: 0.85))
  }

  @Test func rolesViewKeepsDominantAndFillsContextualGroups() {
    // Patch 0 dominant; patch 1 a contextual token that gathered patch 3; patch 2 dropped.
    let l = annotated(states: [.kept, .merged, .pruned, .merged], groups: [0, 1, -1, 1],
                      notes(roles: [.dominant, .contextual, .ordinary, .ordinary]))
    let map = painter.paint(.roles, layer: l)
    let mean = RGB(120, 200, 40)  // (40 + 200) / 2, (200 + 200) / 2, (40 + 40) / 2
    #expect(map[4, 4] == patchColours[0], "dominant as it is")
    #expect(map[10, 10] == mean && map[9, 7] == mean, "gathered into the contextual token: the group's mean colour")
    #expect(map[8, 2] == TokenMapPainter.outline, "the contextual token's own patch is dotted")
    #expect(map[8, 4] == mean, "no dot away from the centre")
    #expect(map[4, 10] == patchColours[2].mixed(with: RGB(255, 255, 255), by: 0.85), "the rest is faded")
    #expect(map[6, 3] == TokenMapPainter.outline && map[6, 8] == TokenMapPainter.outline, "the contextual group is outlined")
    #expect(map[9, 6] == mean, "no line inside the group")
  }

  @Test func clustersViewDrawsAClusteringBlocksGroups() {
    let levels = MergeLevels(name: "d", heights: [0.1], next: 0.2, clusters: 3)
    let l = annotated(states: [.kept, .merged, .kept, .merged], groups: [0, 0, 2, 0], notes(levels: levels))
    let map = painter.paint(.clusters, layer: l)
    let mean = RGB(146, 146, 40)  // (200 + 40 + 200) / 3, (40 + 200 + 200) / 3, (40 + 40 + 40) / 3
    #expect(map[4, 4] == mean && map[10, 10] == mean, "the cluster's mean colour")
    #expect(map[4, 10] == patchColours[2])
    // Without a clustering (or key/value clusters) the layer is drawn as status: no mean colours.
    #expect(painter.paint(.clusters, layer: layer(states: [.kept, .merged, .kept, .merged], groups: [0, 0, 2, 0]))[4, 4] == patchColours[0])
  }

  func figure() throws -> TokenFigure {
    let l = layer(states: [.merged, .merged, .kept, .pruned], groups: [0, 0, 2, -1])
    let run = MethodRun(spec: try MethodSpec.parse("tome:r=1"), layers: [l, l], stemMACs: 50, totalMACs: 250,
                        baselineMACs: 400, finalTop: [], grid: GridSize(rows: 2, cols: 2), prefixCount: 1, heads: 1,
                        stages: [], pruning: nil)
    return TokenFigure(painter: painter, runs: [run, run], layers: [0, 1], view: .groups, title: "test & <figure>")
  }

  /// The attention figure carries a colour bar from 0 (viridis' dark end) to each map's maximum (its caption).
  @Test func attentionFigureHasAColourBar() throws {
    let f = try figure()
    let attention = TokenFigure(painter: f.painter, runs: f.runs, layers: f.layers, view: .attention, title: f.title)
    #expect(attention.height == f.height + attention.colorBarHeight && attention.colorBarHeight > 0)
    let canvas = try ImageLoader.decode(data: try attention.png(), name: "attention.png")
    let y = attention.colorBarY + 5, left = TokenFigure.margin, right = TokenFigure.margin + TokenFigure.colorBarWidth - 1
    #expect(canvas[left, y] == SequentialPalette.viridis.rgb(at: 0) && canvas[right, y] == SequentialPalette.viridis.rgb(at: 1))
    #expect(attention.caption(run: f.runs[0], layer: 0).hasSuffix(", max 0.400"))
    #expect(try attention.svg().contains(TokenFigure.colorBarCaption.replacingOccurrences(of: "'", with: "&apos;")))
    #expect(f.colorBarHeight == 0 && !f.caption(run: f.runs[0], layer: 0).contains("max"), "other views have no bar")
  }

  @Test func pngDecodesToTheLaidOutSize() throws {
    let f = try figure()
    let image = try ImageLoader.decode(data: try f.png(), name: "figure.png")
    #expect(image.width == f.width && image.height == f.height && image.channels == 3)
    #expect(f.height > 2 * 12 && f.width > 3 * 12)
  }

  @Test func svgParsesAndCarriesItsLabelsAsText() throws {
    let svg = try figure().svg()
    final class Collector: NSObject, XMLParserDelegate {
      var texts: [String] = [], images = 0, current = ""
      func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                  attributes: [String: String] = [:]) {
        if name == "image" { images += 1 }
        current = ""
      }
      func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
      func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
      }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let collector = Collector()
    parser.delegate = collector
    #expect(parser.parse(), "SVG is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
    #expect(collector.images == 2 * 3, "two rows of input + two layers")
    #expect(collector.texts.contains("test & <figure>"), "the title, escaped and parsed back")
    #expect(collector.texts.contains("after block 1"))
    #expect(collector.texts.contains { $0.hasPrefix("tome:r=1,") && $0.contains("250.0") == false && $0.contains("MACs") })
    #expect(collector.texts.contains("4 tok, 0.0M"))
  }

  @Test func canvasTextInksPixelsAndBase64MatchesTheStandard() {
    var canvas = Canvas(width: 30, height: 16)
    let end = canvas.text("Ag", x: 1, y: 1)
    #expect(end == 1 + 2 * BitmapFont.width)
    #expect(canvas.pixels.contains { $0 < 128 }, "some ink")
    #expect(base64(Array("Man".utf8)) == "TWFu" && base64(Array("Ma".utf8)) == "TWE=" && base64(Array("M".utf8)) == "TQ==")
    #expect(macsText(4_608_338_304) == "4.61G" && macsText(45_600_000) == "45.6M")
  }
}
