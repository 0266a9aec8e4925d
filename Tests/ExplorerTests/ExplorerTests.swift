// The explorer as text: whole screens rendered into buffers at 120x40 and 80x24 (each view, compare mode, help, the
// too-small screen) compared with committed snapshots, plus the state machine and the run loop on a TestBackend.
// Re-record snapshots with RECORD_SNAPSHOTS=1 swift test --filter ExplorerTests (then review the diff).
import Foundation
import Testing
import ImageIO
import ImageInput
@testable import Explorer
import Figures
import Pixels
import TestSupport
import TokenMethods
import TUI
import ViTEngine

/// The grey 6x6-patch fixture with two methods computed synchronously.
func fixtureState(methods: [String] = ["evit:keep=0.5,layers=1/2", "tome:r=2"], model path: String = modelFixture("grey_p2")) throws -> ExplorerState {
  let model = try ModelLoader.load(path: path)
  let expected = try SafetensorsFile(path: modelFixture("grey_p2", "expected.safetensors"))
  let pixels = try expected.floats("input")
  let input = ModelInput(channels: 1, height: 12, width: 12, pixels: pixels)
  let image = PixelImage(width: 12, height: 12) { x, y in
    let v = UInt8(max(0, min(255, (pixels[y * 12 + x] * 0.353 + 0.286) * 255)))
    return RGB(v, v, v)
  }
  let context = ExplorerContext(modelName: "grey_p2", modelSummary: "timm, 3 blocks, width 32, 2 heads, patch 2, grid 6x6",
                                imageName: "input.png", preprocessing: "none", image: image, depth: 3, grid: (6, 6), heads: 2)
  var state = ExplorerState(context: context, methods: try methods.map { try MethodSpec.parse($0) })
  let loaded = try fixtureImage()
  #expect(loaded.native.pixels == input.pixels)
  for spec in state.methods { state.runs[spec.canonical] = try loaded.methodRun(try MethodPlan(spec: spec, model: model)) }
  return state
}

func screen(_ state: ExplorerState, _ width: Int, _ height: Int, ascii: Bool = false) -> Buffer {
  var buffer = Buffer(size: Size(width: width, height: height))
  let appearance = ascii ? Appearance.asciiMonochrome : Appearance.rich
  ExplorerScreen(state: state, appearance: appearance).render(into: &buffer)
  return buffer
}

/// The explorer's snapshots: Snapshots/NAME.txt holds the screen's rows and style runs.
let snapshotDirectory = URL(fileURLWithPath: repositoryRoot + "/Tests/ExplorerTests/Snapshots", isDirectory: true)

/// Compares lines (and style runs) with Snapshots/NAME.txt; RECORD_SNAPSHOTS=1 writes them instead.
func assertSnapshot(_ buffer: Buffer, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
  expectSnapshot(snapshotText(lines: buffer.lines, styleLines: buffer.styleLines), named: name, in: snapshotDirectory,
                 sourceLocation: sourceLocation)
}

@Suite("Explorer screens")
struct ExplorerScreenTests {
  /// Each view on methods that have something to show in it (the first two views' methods elsewhere).
  static func methods(for view: TokenMapView) -> [String] {
    switch view {
    case .clusters: return ["clustr:clusters=8,k=5,layers=all", "tome:r=2"]
    case .stages: return ["dvt:grids=3/4/6,thresholds=0.5/0.6", "tome:r=2"]
    case .pruning: return ["upvit:importance=\(stableImportancePath),heads=1,mlp-ratio=2", "tome:r=2"]
    case .score: return ["pitome:ratio=0.7,bsm=0", "tome:r=2"]
    case .roles: return ["visionzip:dominant=9,contextual=3,layer=1", "tome:r=2"]
    case .counts: return ["dymu", "tome:r=2"]
    default: return ["evit:keep=0.5,layers=1/2", "tome:r=2"]
    }
  }

  /// A copy of the grey_p2 checkpoint beside a DToMe thresholds file, so that `dymu` (thresholds=auto) finds a
  /// calibration with its mean token counts. The numbers are made up for the screen, not calibrated.
  static func calibratedModel() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenscope-explorer-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let model = dir + "/grey.safetensors"
    if !FileManager.default.fileExists(atPath: model) { try FileManager.default.copyItem(atPath: modelFixture("grey_p2"), toPath: model) }
    let file = DToMeThresholdsFile(modelPath: model, modelSHA256: "", data: "made up", split: "train", images: 8, batchSize: 4,
                                   batches: 2, rTotal: 9, schedule: .constant, r: [3, 3, 3], thresholds: [0.5, 0.4, 0.3],
                                   meanTokens: [34.5, 31.25, 28])
    try file.json().serialized().write(toFile: DToMe.defaultThresholdsPath(forModel: model), atomically: true, encoding: .utf8)
    return model
  }

  static func state(for view: TokenMapView) throws -> ExplorerState {
    view == .counts ? try fixtureState(methods: methods(for: view), model: try calibratedModel())
      : try fixtureState(methods: methods(for: view))
  }

  @Test(arguments: TokenMapView.allCases)
  func views(view: TokenMapView) throws {
    var state = try Self.state(for: view)
    state.layer = 1
    state.view = view
    assertSnapshot(screen(state, 120, 40), named: "view-\(view.rawValue)-120x40")
    assertSnapshot(screen(state, 80, 24), named: "view-\(view.rawValue)-80x24")
  }

  /// The annotation views say why they are empty where the method recorded nothing, and name the layers that have it.
  @Test func annotationViewsExplainWhereTheyAreEmpty() throws {
    var state = try fixtureState(methods: ["tome:r=2", "visionzip:dominant=9,contextual=3,layer=1"])
    func map() -> String { screen(state, 120, 40).lines.joined(separator: "\n") }
    state.view = .score
    #expect(map().contains("tome records no per-token score"))
    state.view = .roles
    #expect(map().contains("tome gives its tokens no particular roles"))
    state.view = .counts
    #expect(map().contains("tome records no reference token count"))
    state.focus = 1
    state.layer = 0
    state.view = .roles
    #expect(map().contains("visionzip gives its tokens roles in block 1; step to one"))
    state.view = .clusters
    #expect(map().contains("visionzip does not cluster keys and values"))
  }

  /// ATC's clusters in the clusters view, and the dendrogram strip of its latest clustering in the side panel.
  @Test func clusteringBlocksShowTheirClustersAndCut() throws {
    var state = try fixtureState(methods: ["atc:keep=0.6,layers=1"])
    state.view = .clusters
    state.layer = 0
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("atc clusters its tokens in block 1; step to one"))
    state.layer = 1
    let buffer = screen(state, 120, 40)
    assertSnapshot(buffer, named: "view-clusters-atc-120x40")
    let text = buffer.lines.joined(separator: "\n")
    let layer = try #require(state.focusedRun?.layers[1])
    let levels = try #require(layer.annotations?.mergeLevels)
    #expect(text.contains("block 1: \(levels.heights.count) merges → \(levels.clusters) clusters"))
    #expect(text.contains("cut between \(fixed2(levels.heights.last!)) and \(fixed2(levels.next!))"))
    // The strip stays on the later layers (the latest clustering so far).
    state.layer = 2
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("block 1: \(levels.heights.count) merges"))
    // The cursor reads the score and role of its patch where the method recorded them.
    state = try fixtureState(methods: ["pitome:ratio=0.7,bsm=0"])
    state.view = .score
    state.layer = 1
    _ = update(&state, .clickPatch(row: 2, col: 3))
    let energy = try #require(state.focusedRun?.layers[1].annotations?.score?.values[2 * 6 + 3])
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("energy \(fixed4(Double(energy)))"))
  }

  @Test func compareHelpAndTooSmall() throws {
    var state = try fixtureState()
    state.layer = 2
    state.compare = true
    state.highlightDifferences = true
    assertSnapshot(screen(state, 120, 40), named: "compare-120x40")
    state.compare = false
    state.showHelp = true
    assertSnapshot(screen(state, 80, 24), named: "help-80x24")
    assertSnapshot(screen(state, 40, 12), named: "too-small-40x12")
    #expect(screen(state, 40, 12).lines.joined().contains("terminal too small"))
  }

  @Test func plotsScreen() throws {
    var state = try fixtureState()
    _ = update(&state, .togglePlots)
    _ = update(&state, .nextLayer)
    assertSnapshot(screen(state, 120, 40), named: "plots-120x40")
    _ = update(&state, .escape)
    #expect(!state.showPlots, "Esc closes the plots")
  }

  @Test func cursorInspectsTheTokenHoldingThePatch() throws {
    var state = try fixtureState(methods: ["tome:r=4"])
    _ = update(&state, .lastLayer)
    let layer = try #require(state.focusedRun?.layers.last)
    // A patch whose token holds several patches.
    let p = try #require(layer.patchToken.indices.first { i in layer.patchToken[i] >= 0 && layer.patchToken.filter { $0 == layer.patchToken[i] }.count > 1 })
    let held = layer.patchToken.filter { $0 == layer.patchToken[p] }.count
    _ = update(&state, .clickPatch(row: p / 6, col: p % 6))
    let buffer = screen(state, 120, 40)
    let text = buffer.lines.joined(separator: "\n")
    #expect(text.contains("holds \(held) patches (underlined)"), "side panel names the patches the token holds")
    let history = state.focusedRun!.layers.map { String($0.patchState[p].rawValue.prefix(1)) }.joined()
    #expect(text.contains("by layer: \(history)"), "side panel gives the patch's state at every layer so far")
    // The token's other patches are underlined on the map.
    let underlined = (0..<buffer.area.height).flatMap { y in (0..<buffer.area.width).filter { buffer[$0, y].style.underline }.map { _ in y } }
    #expect(!underlined.isEmpty)
  }

  @Test func lessonPagesDriveTheScreen() throws {
    for page in Lesson.pages {
      #expect(page.methods.allSatisfy { (try? MethodSpec.parse($0)) != nil }, "\(page.title): every method parses")
      #expect(page.text.split(separator: " ").count > 40, "\(page.title): says something")
    }
    var state = try fixtureState()
    #expect(action(for: .char("t"), state: state).map { "\($0)" } == "startLesson")
    _ = update(&state, .startLesson)
    #expect(state.lessonPage == 0 && state.methods.map(\.name) == ["none"] && state.view == .image)
    #expect(action(for: .char("]"), state: state).map { "\($0)" } == "lessonStep(1)")
    #expect(action(for: .right, state: state).map { "\($0)" } == "nextLayer", "other keys keep working")
    _ = update(&state, .lessonStep(-1))
    #expect(state.lessonPage == 0, "no page before the first")
    for _ in 0..<3 { _ = update(&state, .lessonStep(1)) }
    let evit = try #require(Lesson.pages.firstIndex { $0.title.contains("EViT") })
    #expect(state.lessonPage == evit && state.methods.map(\.name) == ["evit"])
    #expect(state.layer == min(3, state.context.depth - 1), "blocks clamp to a shallower model")
    _ = update(&state, .lessonStep(1))
    #expect(state.methods.allSatisfy { state.runs[$0.canonical] != nil || state.pending.contains($0.canonical) },
            "every method of a page is computed or being computed")
    state.runs[state.methods[0].canonical] = try MethodRun.compute(model: try ModelLoader.load(path: modelFixture("grey_p2")),
      input: ModelInput(channels: 1, height: 12, width: 12, pixels: try SafetensorsFile(path: modelFixture("grey_p2", "expected.safetensors")).floats("input")),
      spec: state.methods[0])
    assertSnapshot(screen(state, 120, 40), named: "lesson-120x40")
    for _ in 0..<20 { _ = update(&state, .lessonStep(1)) }
    #expect(state.lessonPage == Lesson.pages.count - 1 && state.compare)
    _ = update(&state, .escape)
    #expect(state.lessonPage == nil, "Esc leaves the lesson")
  }

  @Test func asciiMonochromeReadsWithoutColour() throws {
    var state = try fixtureState()
    state.layer = 2
    let buffer = screen(state, 120, 40, ascii: true)
    assertSnapshot(buffer, named: "ascii-monochrome-120x40")
    let text = buffer.lines.joined()
    #expect(text.allSatisfy { $0.isASCII })
    #expect(text.contains("%%") && text.contains("##"), "fused and kept patches have their own glyphs")
  }

  /// The annotation views and the dendrogram strip draw in ASCII when the terminal has no Unicode, and mark their
  /// patches with their own glyphs (protected, contextual, gathered).
  @Test(arguments: [TokenMapView.score, .roles, .counts, .clusters])
  func annotationViewsReadInASCII(view: TokenMapView) throws {
    var state = view == .clusters ? try fixtureState(methods: ["atc:keep=0.6,layers=1"]) : try Self.state(for: view)
    state.layer = 1
    state.view = view
    let text = screen(state, 120, 40, ascii: true).lines.joined(separator: "\n")
    #expect(text.allSatisfy { $0.isASCII }, "\(view)")
    switch view {
    case .score: #expect(text.contains("<>"), "protected patches")
    case .roles: #expect(text.contains("@@") && text.contains("%%"), "contextual tokens and the patches they gathered")
    case .clusters: #expect(text.contains("-^") && text.contains("(^ refused)"), "the cut and the refused merge")
    default: #expect(text.contains("calibration mean"))
    }
  }

  @Test func sidePanelShowsTheLayer() throws {
    var state = try fixtureState()
    let text = screen(state, 120, 40).lines.joined(separator: "\n")
    #expect(text.contains("block 0 of 0-2"))
    state.layer = 1
    let second = screen(state, 120, 40).lines.joined(separator: "\n")
    #expect(second.contains("block 1 of 0-2"))
    #expect(second.contains("tokens 37 → 20"))
    #expect(second.contains("kept 18 of 36 tokens by CLS attention"))
    #expect(second.contains("if it stopped here"))
  }
}

@Suite("Explorer state")
struct ExplorerStateTests {
  @Test func layerStepping() throws {
    var state = try fixtureState()
    _ = update(&state, .previousLayer)
    #expect(state.layer == 0)
    for _ in 0..<5 { _ = update(&state, .nextLayer) }
    #expect(state.layer == 2)
    _ = update(&state, .firstLayer)
    #expect(state.layer == 0)
    _ = update(&state, .lastLayer)
    #expect(state.layer == 2)
  }

  @Test func changingAMethodAsksForAComputation() throws {
    var state = try fixtureState()
    let effects = update(&state, .adjustParameter(1))
    #expect(state.methods[0].canonical == "evit:keep=0.55,layers=1/2,fuse=true")
    #expect(effects == [.compute(state.methods[0])])
    #expect(state.isBusy)
    #expect(update(&state, .cycleMethod(1)).count == 1)
    #expect(state.methods[0].name == "idle")
    // A computation already pending is not started twice.
    #expect(update(&state, .nextLayer).isEmpty)
  }

  @Test func adjustParameterSteps() throws {
    #expect((try MethodSpec.parse("tome:r=0")).stepped(-1)?.canonical == "tome:r=0,schedule=constant,prop=true")
    #expect((try MethodSpec.parse("tome:r=8")).stepped(1)?.canonical == "tome:r=9,schedule=constant,prop=true")
    #expect((try MethodSpec.parse("idle:keep=1")).stepped(1)?.canonical == "idle:keep=1,layers=3-11")
    #expect((try MethodSpec.parse("evit:keep=0.1")).stepped(-1)?.canonical == "evit:keep=0.05,layers=3/6/9,fuse=true")
    #expect((MethodSpec.baseline).stepped(1) == nil)
    // The other methods step along their sweep values, + towards the larger setting, clamped at the ends.
    #expect((try MethodSpec.parse("clustr")).stepped(1)?.canonical == "clustr:clusters=98,k=5,layers=all")
    #expect((try MethodSpec.parse("clustr")).stepped(-1)?.canonical == "clustr:clusters=25,k=5,layers=all")
    #expect((try MethodSpec.parse("clustr:clusters=147")).stepped(1)?.canonical == "clustr:clusters=147,k=5,layers=all")
    #expect((try MethodSpec.parse("dvt")).stepped(-1)?.canonical == "dvt:thresholds=0.7/0.6,grids=7/10/14")
    #expect((try MethodSpec.parse("upvit")).stepped(-1)?.canonical == "upvit:importance=auto,heads=keep,mlp-ratio=2.5,embed=keep")
    #expect((try MethodSpec.parse("clustr:clusters=30")).stepped(-1)?.canonical == "clustr:clusters=25,k=5,layers=all",
            "a value off the list steps to the nearest listed one")
    #expect((try MethodSpec.parse("clustr:clusters=30")).stepped(1)?.canonical == "clustr:clusters=49,k=5,layers=all")
  }

  @Test func keysMapToActions() throws {
    let state = try fixtureState()
    #expect(action(for: .right, state: state).map { "\($0)" } == "nextLayer")
    #expect(action(for: .char("l"), state: state).map { "\($0)" } == "nextLayer")
    #expect(action(for: .char("?"), state: state).map { "\($0)" } == "toggleHelp")
    #expect(action(for: .char("h"), state: state).map { "\($0)" } == "previousLayer", "help is never on h")
    #expect(action(for: .ctrlC, state: state).map { "\($0)" } == "quit")
    #expect(action(for: .shiftRight, state: state).map { "\($0)" } == "moveCursor(dx: 1, dy: 0)")
    #expect(action(for: .char("H"), state: state).map { "\($0)" } == "moveCursor(dx: -1, dy: 0)")
    #expect(action(for: .shiftUp, state: state).map { "\($0)" } == "moveCursor(dx: 0, dy: -1)")
    // A click on a patch of the focused map moves the cursor there.
    let geometry = try #require(ExplorerScreen.focusedMapGeometry(state: state, size: Size(width: 120, height: 40)))
    let click = InputEvent.mouse(x: geometry.x + 2 * geometry.cellWidth, y: geometry.y + 3 * geometry.cellHeight, kind: .click)
    #expect(action(for: click, state: state, map: geometry).map { "\($0)" } == "clickPatch(row: 3, col: 2)")
  }

  @Test func samplesCycleAndThePromptOpensAnImage() throws {
    var state = try fixtureState()
    state.samples = ["a.png", "input.png", "c.png"]
    #expect(update(&state, .cycleImage(1)).contains(.openImage("c.png")))
    #expect(update(&state, .cycleImage(-1)).contains(.openImage("a.png")))
    #expect(update(&state, .cycleImage(2)).contains(.openImage("a.png")), "wraps around")
    #expect(state.message == "opening a.png")
    // The prompt takes every key until Enter or Esc.
    _ = update(&state, .openPrompt)
    #expect(action(for: .char("q"), state: state).map { "\($0)" } == "editPrompt(\"q\")", "q types, it does not quit")
    _ = update(&state, .editPrompt("x.png"))
    #expect(action(for: .backspace, state: state).map { "\($0)" } == "editPrompt(\"x.pn\")")
    #expect(action(for: .enter, state: state).map { "\($0)" } == "submitPrompt")
    let footer = screen(state, 120, 40).lines.last ?? ""
    #expect(footer.hasPrefix("open image: x.png"), "footer: \(footer)")
    #expect(update(&state, .submitPrompt) == [.openImage("x.png")])
    #expect(state.prompt == nil)
    _ = update(&state, .openPrompt)
    #expect(update(&state, .cancelPrompt).isEmpty && state.prompt == nil)
    // A new image drops every result and recomputes every method.
    var context = state.context
    context.imageName = "c.png"
    let effects = update(&state, .imageOpened(context))
    #expect(state.runs.isEmpty && state.context.imageName == "c.png")
    #expect(effects == state.methods.map { .compute($0) })
    #expect(state.message == "opened c.png")
    _ = update(&state, .nextLayer)
    #expect(state.message == nil, "a key dismisses the message")
  }

  @Test func theWorkerOpensImagesInOrderWithTheComputations() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let input = try fixtureImage()
    let flipped = try ModelImage(image: PixelImage(width: 12, height: 12, channels: 1, pixels: input.image.pixels.reversed()),
                                 name: "flipped", pipeline: input.pipeline, patchSize: 2)
    let context = try fixtureState().context
    let worker = Worker(model: model, input: input) { path in
      guard path == "flipped.png" else { throw CocoaLikeError(path: path) }
      var c = context
      c.imageName = path
      return (c, flipped)
    }
    let spec = MethodSpec.baseline
    worker.start(.compute(spec))
    worker.start(.openImage("missing.png"))
    worker.start(.openImage("flipped.png"))
    worker.start(.compute(spec))
    worker.waitUntilIdle()
    let results = worker.drain()
    #expect(results.count == 4)
    guard results.count == 4, case .computed(let before) = results[0], case .showMessage(let message) = results[1],
      case .imageOpened(let opened) = results[2], case .computed(let after) = results[3]
    else { Issue.record("unexpected results \(results)"); return }
    #expect(message.contains("missing.png"))
    #expect(opened.imageName == "flipped.png")
    #expect(before.layers[0].attention(head: nil) != after.layers[0].attention(head: nil), "the second run sees the new image")
  }

  @Test func exportWritesTheShownMethodsAsAFigure() throws {
    var state = try fixtureState()
    _ = update(&state, .nextLayer)
    _ = update(&state, .nextView)  // image view
    _ = update(&state, .nextView)  // merge groups
    let effects = update(&state, .export)
    guard case .export(var request)? = effects.first else { Issue.record("no export effect: \(effects)"); return }
    #expect(request.path == "tokenscope-input-block1-groups.png")
    #expect(request.runs.map(\.spec) == [state.methods[0]] && request.layer == 1 && request.view == .groups)
    _ = update(&state, .toggleCompare)
    guard case .export(let both)? = update(&state, .export).first else { Issue.record("no export in compare mode"); return }
    #expect(both.runs.count == 2, "compare mode exports every method on screen")
    request.path = NSTemporaryDirectory() + "tokenscope-export-\(getpid()).png"
    defer { try? FileManager.default.removeItem(atPath: request.path) }
    let answer = Worker.export(request)
    #expect("\(answer)".contains("wrote \(request.path)"))
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: request.path)))
    #expect(bytes.prefix(4) == [0x89, 0x50, 0x4E, 0x47])
    // Nothing computed yet: no file, a message instead.
    var empty = try fixtureState()
    empty.runs = [:]
    #expect(update(&empty, .export).allSatisfy { if case .export = $0 { false } else { true } })
    #expect(empty.message?.contains("still computing") == true)
  }

  @Test func runLoopOnATestBackend() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    var state = try fixtureState()
    state.runs = [:]
    let worker = Worker(model: model, input: try fixtureImage())
    var app = ExplorerApp(state: state, worker: worker, appearance: .rich)
    app.start()
    worker.waitUntilIdle()
    var backend = TestBackend(size: Size(width: 120, height: 40), events: [.right, .tab, .char("m"), .char("q")])
    app.run(backend: &backend)
    #expect(app.state.shouldQuit)
    #expect(app.state.layer == 1 && app.state.view == .image)
    let last = try #require(backend.lastFrame).lines.joined(separator: "\n")
    #expect(last.contains("block 1 of 0-2"))
  }
}

/// grey_p2's importance file at a path that does not depend on where the repository is (the spec, path included,
/// is on screen in the snapshots).
let stableImportancePath: String = {
  let path = "/tmp/tokenscope-snapshot-grey_p2.importance.json"
  try? FileManager.default.removeItem(atPath: path)
  try? FileManager.default.copyItem(atPath: modelFixture("grey_p2", "upvit_importance.json"), toPath: path)
  return path
}()

/// The grey_p2 fixture image as the explorer's worker holds it (preprocess-none: its tensor is the fixture's input).
func fixtureImage() throws -> ModelImage {
  let image = try ImageLoader.load(path: modelFixture("grey_p2", "input.png"))
  let pipeline = Preprocessing.none(inputSize: (12, 12), channels: 1, mean: [0.2860], std: [0.3530])
  let loaded = try ModelImage(image: image, name: "input.png", pipeline: pipeline, patchSize: 2)
  let expected = try SafetensorsFile(path: modelFixture("grey_p2", "expected.safetensors"))
  #expect(loaded.native.pixels == (try expected.floats("input")), "input.png preprocesses to the fixture's tensor")
  return loaded
}

struct CocoaLikeError: Error, CustomStringConvertible {
  let path: String
  var description: String { "\(path): no such file" }
}
