// The plots page with dataset maps: the focused method's mean map over a dataset beside the image's map. The maps are
// made the way `eval --maps` makes them (each image through ModelImage.run, MapSample, DatasetMaps), written as a
// maps.json and read back from the file: the bundled model over its twenty bundled images (14x14 snapshots at three
// window sizes), and the grey_p2 fixture over generated images (what the panel says, the cursor's rates, the
// mismatches it refuses to draw, and `:maps` through the worker).
import Foundation
import Testing
import ImageIO
import ImageInput
@testable import Explorer
import Pixels
import TestSupport
import TokenMethods
import TUI
import ViTEngine

enum MapsFixture {
  /// `images` through `model` for each of `specs`, as eval collects them, written to a maps.json and read back.
  static func file(model path: String, specs: [MethodSpec], images: [(ModelImage, truth: Int)], name: String) throws -> LoadedMaps {
    let model = try ModelLoader.load(path: path)
    let grid = images[0].0.nativeGrid
    let runs = try specs.map { spec -> (method: String, samples: [MapSample]) in
      let plan = try MethodPlan(spec: spec, model: model)
      return (spec.canonical, try images.map { image, truth in MapSample(pass: try image.run(plan).pass, truth: truth) })
    }
    let maps = DatasetMaps(runs: runs, grid: grid, skipped: [])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenscope-maps-\(getpid())-\(name)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try maps.json.serialized().write(toFile: dir + "/maps.json", atomically: true, encoding: .utf8)
    return LoadedMaps(path: dir + "/maps.json", maps: try DatasetMaps.read(path: dir))
  }

  /// The grey_p2 fixture's two default explorer methods over 12 generated 12x12 images.
  static func grey() throws -> LoadedMaps {
    let pipeline = Preprocessing.none(inputSize: (12, 12), channels: 1, mean: [0.2860], std: [0.3530])
    let images = try (0..<12).map { i -> (ModelImage, truth: Int) in
      let image = PixelImage(width: 12, height: 12) { x, y in
        let v = UInt8((x * 11 + y * 12 * 11 + i * 37 + y * i) % 256)
        return RGB(v, v, v)
      }
      return (try ModelImage(image: image, name: "generated \(i)", pipeline: pipeline, patchSize: 2), truth: i % 10)
    }
    return try file(model: modelFixture("grey_p2"), specs: try fixtureState().methods, images: images, name: "grey")
  }

  /// The bundled model's EViT and ToMe over the twenty bundled Fashion-MNIST images (their classes from the names).
  static func bundled() throws -> LoadedMaps {
    let folder = repositoryRoot + "/samples/images/fashion"
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") }.sorted()
    let classes = ["t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
    let pipeline = Preprocessing.none(inputSize: (28, 28), channels: 1, mean: [0.2860], std: [0.3530])
    let images = try names.map { name -> (ModelImage, truth: Int) in
      let image = try ModelImage(image: try ImageLoader.load(path: folder + "/" + name), name: name, pipeline: pipeline, patchSize: 2)
      return (image, truth: classes.firstIndex { name.hasPrefix($0 + "-") } ?? -1)
    }
    #expect(images.count == 20 && images.allSatisfy { $0.truth >= 0 })
    return try file(model: repositoryRoot + "/samples/models/fashion-vit.safetensors", specs: try bundledState(.deitS).methods,
                    images: images, name: "bundled")
  }
}

/// The text inside the dataset maps panel at `width` x `height`, its rows joined by spaces (wrapped text reads on).
func panelText(_ state: ExplorerState, _ width: Int, _ height: Int) -> String {
  let buffer = screen(state, width, height)
  let area = ScreenLayout.plan(state: state, size: Size(width: width, height: height)).maps
  guard let box = ExplorerScreen.plotsPlan(state: state, area: area).maps else { return "" }
  return (box.y + 1..<box.bottom - 1).map { y in
    String(Array(buffer.lines[y])[(box.x + 1)..<(box.right - 1)]).trimmingCharacters(in: .whitespaces)
  }.filter { !$0.isEmpty }.joined(separator: " ")
}

@Suite("Explorer: dataset maps on the plots page")
struct DatasetMapsPanelTests {
  @Test func bundledModelAtThreeWindowSizes() throws {
    var state = try bundledState(.deitS)
    state.datasetMaps = try MapsFixture.bundled()
    state.showPlots = true
    state.layer = 6
    for size in [Size(width: 60, height: 20), Size(width: 80, height: 24), Size(width: 140, height: 45)] {
      let buffer = screen(state, size.width, size.height)
      assertSnapshot(buffer, named: "plots-maps-14x14-\(size)")
      let text = buffer.lines.joined(separator: "\n")
      #expect(text.contains("maps.json: evit, block 6"), "\(size)")
    }
    // At 140x45 both maps have two columns by one row a patch, and the entropy panel keeps its place beside them.
    let text = screen(state, 140, 45).lines.joined(separator: "\n")
    #expect(text.contains("attention entropy") && text.contains("20 images") && text.contains("fused: dataset "))
  }

  @Test func panelReadsTheRatesAndTheImage() throws {
    var state = try fixtureState()
    let loaded = try MapsFixture.grey()
    #expect(loaded.maps.methods.map(\.images) == [12, 12] && loaded.maps.grid == GridSize(rows: 6, cols: 6))
    state.datasetMaps = loaded
    _ = update(&state, .togglePlots)
    _ = update(&state, .nextLayer)
    assertSnapshot(screen(state, 120, 40), named: "plots-maps-120x40")
    assertSnapshot(screen(state, 80, 24, ascii: true), named: "plots-maps-ascii-80x24")
    var text = screen(state, 120, 40).lines.joined(separator: "\n")
    // EViT at block 1 fuses: the panel shows the fused rate and this image's share of fused patches.
    let evit = try #require(loaded.maps.method(for: state.focusedSpec))
    let fused = evit.rates(layer: 1)[2]
    let run = try #require(state.focusedRun)
    let shareHere = Double(run.layers[1].patchState.filter { $0 == .fused }.count) / 36
    #expect(text.contains("12 images"))
    #expect(text.contains("fused: dataset \(fixedDigits(100 * fused.reduce(0, +) / 36, 0))%, image \(fixedDigits(100 * shareHere, 0))%"))
    // The cursor's patch: its rate of every state over the dataset, which add up to the images.
    _ = update(&state, .clickPatch(row: 2, col: 3))
    text = screen(state, 120, 40).lines.joined(separator: "\n")
    let rates = evit.rates(layer: 1).map { $0[2 * 6 + 3] }
    #expect(abs(rates.reduce(0, +) - 1) < 1e-12)
    let expected = PatchState.allCases.indices.filter { rates[$0] > 0 }
      .map { "\(PatchState.allCases[$0].rawValue) \(fixedDigits(100 * rates[$0], 0))%" }.joined(separator: " ")
    #expect(text.contains("(2,3): \(expected); image \(run.layers[1].patchState[2 * 6 + 3].rawValue)"), "\(expected)")
    // ToMe merges from block 0: focused, its merged rate (the cursor's patch is kept in every image).
    _ = update(&state, .focusMethod(1))
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("(2,3): kept 100%; image kept"))
    state.cursor = nil
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("merged: dataset "))
  }

  @Test func panelSaysWhatItCannotShow() throws {
    var state = try fixtureState()
    state.datasetMaps = try MapsFixture.grey()
    state.showPlots = true
    func text() -> String { panelText(state, 120, 40) }
    // A method the file does not have: named, with what it has.
    _ = update(&state, .openCommandPrompt)
    _ = update(&state, .editPrompt("method tome:r=3"))
    _ = update(&state, .submitPrompt)
    let missing = text()
    #expect(missing.contains("tome:r=3,schedule=constant,prop=true is not in maps.json; it has evit:keep=0.5,layers=1/2,fuse=true, tome:r=2,schedule=constant,prop=true"), "\(missing)")
    // Another grid (the model run at another input size): said, not drawn.
    state.methods[0] = try MethodSpec.parse("evit:keep=0.5,layers=1/2")
    state.context.grid = (8, 8)
    #expect(text().contains("maps.json was made at grid 6x6; this image runs at 8x8"))
    state.context.grid = (6, 6)
    state.context.depth = 4
    #expect(text().contains("maps.json has 3 blocks; this model has 4"))
  }

  /// From 60x20 to 200x60 and on three grids: the panel is always there, inside the plots area, apart from the charts
  /// (which keep 8 rows when shown) and the entropy panel (24 columns when shown).
  @Test func plotsPlanKeepsThePartsApart() throws {
    var state = try fixtureState()
    state.datasetMaps = try MapsFixture.grey()
    state.showPlots = true
    func inside(_ r: Rect, _ a: Rect) -> Bool { r.x >= a.x && r.y >= a.y && r.right <= a.right && r.bottom <= a.bottom }
    func apart(_ r: Rect, _ s: Rect) -> Bool { r.right <= s.x || s.right <= r.x || r.bottom <= s.y || s.bottom <= r.y }
    for grid in [(6, 6), (14, 14), (16, 16)] {
      state.context.grid = grid
      for width in stride(from: 60, through: 200, by: 7) {
        for height in stride(from: 20, through: 60, by: 4) {
          let area = ScreenLayout.plan(state: state, size: Size(width: width, height: height)).maps
          let plan = ExplorerScreen.plotsPlan(state: state, area: area)
          let maps = try #require(plan.maps, "\(grid) \(width)x\(height)")
          let parts = [plan.charts, plan.entropy, maps].compactMap { $0 }
          #expect(parts.allSatisfy { inside($0, area) }, "\(grid) \(width)x\(height)")
          for i in parts.indices { for j in parts.indices where i < j { #expect(apart(parts[i], parts[j]), "\(grid) \(width)x\(height)") } }
          #expect((plan.charts?.height ?? 8) >= 8 && (plan.entropy?.width ?? 24) >= 24, "\(grid) \(width)x\(height)")
          let want = ExplorerScreen.datasetPanelSize(grid: grid)
          if plan.charts == nil { #expect(area.height - 8 < want.height - grid.0 + (grid.0 + 1) / 2, "the charts go only when the half-block maps need their rows") }
        }
      }
    }
  }

  /// `:maps PATH` reads on the worker and opens the plots; a file that is not maps gets the reader's line.
  @Test func theCommandLineLoadsMaps() throws {
    let loaded = try MapsFixture.grey()
    #expect(ExplorerCommand.parse("maps \(loaded.path)", depth: 3) == .success(.maps(loaded.path)))
    #expect(ExplorerCommand.complete("ma") == "maps ")
    var state = try fixtureState()
    _ = update(&state, .openCommandPrompt)
    _ = update(&state, .editPrompt("maps \(loaded.path)"))
    #expect(update(&state, .submitPrompt) == [.loadMaps(loaded.path)])
    let worker = Worker(model: try ModelLoader.load(path: modelFixture("grey_p2")), input: try fixtureImage())
    worker.start(.loadMaps(loaded.path))
    worker.start(.loadMaps(modelFixture("grey_p2", "input.png")))
    worker.waitUntilIdle()
    let results = worker.drain()
    guard results.count == 2, case .mapsLoaded(let read) = results[0], case .showMessage(let refusal) = results[1] else {
      Issue.record("unexpected results \(results)"); return
    }
    #expect(read.maps.json == loaded.maps.json)
    #expect(refusal.hasPrefix(modelFixture("grey_p2", "input.png") + ": not a maps file"), "\(refusal)")
    _ = update(&state, .mapsLoaded(read))
    #expect(state.showPlots && state.datasetMaps != nil)
    #expect(state.message == "read maps.json: 2 methods, 12 images, grid 6x6; p leaves the plots")
  }
}
