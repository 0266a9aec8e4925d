// The marks on the maps (differences, cursor, merge-group colours) and the ways of driving the explorer added in its
// second edition: Tab over the views that apply, play speed, the export prompt, the attention scale and the `:`
// command line.
import Figures
import Foundation
import ImageIO
import ImageInput
import Testing
@testable import Explorer
import Pixels
import TestSupport
import TokenMethods
import TUI
import ViTEngine

@Suite("Explorer marks and keys")
struct DrivingTests {
  /// No map cell is drawn in reverse video: it turned a kept ██ into a hole. The differences and the cursor carry
  /// their own glyphs, which the legend shows.
  @Test func differencesAndCursorUseGlyphsNotReverseVideo() throws {
    var state = try fixtureState()
    state.layer = 2
    state.compare = true
    state.highlightDifferences = true
    _ = update(&state, .clickPatch(row: 1, col: 1))
    let buffer = screen(state, 120, 40)
    let cells = (0..<40).flatMap { y in (0..<120).map { buffer[$0, y] } }
    #expect(!cells.contains { $0.style.reverse })
    let text = buffer.lines.joined(separator: "\n")
    #expect(text.contains("×") && text.contains("× differs from method 1"))
    #expect(text.contains("[]") && text.contains("[] cursor"))
    // The mark keeps half of the state's glyph: a differing patch still says what it is.
    let marked = cells.filter { $0.symbol == "×" }.count
    let reference = try #require(state.runs[state.methods[0].canonical]?.layers[2])
    let other = try #require(state.runs[state.methods[1].canonical]?.layers[2])
    // The cursor's patch (row 1, col 1) shows the cursor instead.
    let differing = zip(reference.patchState, other.patchState).enumerated().filter { $0.element.0 != $0.element.1 && $0.offset != 7 }.count
    #expect(differing > 0 && marked == differing * 4 + 1,
            "each differing patch of the second map is 4x2 cells, two marks a row; one more in the legend")
  }

  /// Merge groups are painted in their mean colour in the image (the grey fixture: greys), as render draws them.
  @Test func mergeGroupsInTheirMeanColour() throws {
    var state = try fixtureState(methods: ["tome:r=4"])
    state.layer = 2
    state.view = .groups
    let layer = try #require(state.focusedRun?.layers[2])
    let means = patchMeans(of: state.context.image, rows: 6, cols: 6)
    let groups = groupMeans(layer.group, patches: means)
    let geometry = try #require(ExplorerScreen.focusedMapGeometry(state: state, size: Size(width: 120, height: 40)))
    let buffer = screen(state, 120, 40)
    for p in 0..<36 where layer.group[p] >= 0 && layer.patchState[p] != .pruned {
      let cell = buffer[geometry.x + (p % 6) * geometry.cellWidth, geometry.y + (p / 6) * geometry.cellHeight]
      #expect(cell.style.fg == groups[layer.group[p]]!.color, "patch \(p)")
    }
    // A merged group's colour is the mean of its patches'.
    let merged = try #require(layer.group.indices.first { p in layer.group.filter { $0 == layer.group[p] }.count > 1 })
    let members = layer.group.indices.filter { layer.group[$0] == layer.group[merged] }
    let r = members.map { Int(means[$0].r) }.reduce(0, +) / members.count
    #expect(Int(groups[layer.group[merged]]!.r) == r)
  }

  /// Tab skips the views with nothing for the focused method, and `?` lists them with the reason.
  @Test func tabCyclesTheViewsThatApply() throws {
    var state = try fixtureState(methods: ["tome:r=2"])
    var seen: [TokenMapView] = []
    for _ in 0..<TokenMapView.allCases.count { seen.append(state.view); _ = update(&state, .nextView) }
    // The attribution views and token norms apply to every run of a model with a class token and a head.
    #expect(Set(seen) == [.status, .image, .groups, .attention, .relevance, .ablation, .lens, .norms], "\(seen)")
    state.view = .status
    _ = update(&state, .previousView)
    #expect(state.view == TokenMapView.allCases.last, "backwards from the first applicable view to the last")
    state.showHelp = true
    let help = screen(state, 120, 40).lines.joined(separator: "\n")
    #expect(help.contains("skipped: tome is not a cascade"))
    // A method still computing offers every view.
    state.runs = [:]
    #expect(state.applicableViews == TokenMapView.allCases)
  }

  @Test func playShowsItselfAndChangesSpeed() throws {
    var state = try fixtureState()
    #expect(action(for: .char(">"), state: state).map { "\($0)" } == "playSpeed(1)")
    _ = update(&state, .togglePlay)
    #expect(screen(state, 120, 40).lines[0].contains("playing 600 ms/block"))
    _ = update(&state, .playSpeed(1))
    #expect(state.playIntervalMs == 300)
    for _ in 0..<10 { _ = update(&state, .playSpeed(-1)) }
    #expect(state.playIntervalMs == ExplorerState.playSpeeds[0])
    let footer = screen(state, 120, 40).lines[39]
    #expect(footer.contains("playing at 2000 ms a block"))
    _ = update(&state, .nextLayer)
    #expect(screen(state, 120, 40).lines[39].contains("</> speed"), "the hint bar offers the speed keys while playing")
  }

  @Test func exportAsksWhereToWrite() throws {
    var state = try fixtureState()
    #expect(action(for: .char("e"), state: state).map { "\($0)" } == "openExportPrompt")
    _ = update(&state, .openExportPrompt)
    #expect(state.prompt == "tokenscope-input-block0-status.png")
    #expect(screen(state, 120, 40).lines[39].hasPrefix("write figure to: tokenscope-input-block0-status.png"))
    _ = update(&state, .editPrompt("~/figs/"))
    let effects = update(&state, .submitPrompt)
    guard case .export(let request)? = effects.first else { Issue.record("no export: \(effects)"); return }
    let home = ProcessInfo.processInfo.environment["HOME"] ?? "~"
    #expect(request.path == home + "/figs/tokenscope-input-block0-status.png")
    #expect(state.prompt == nil && state.promptKind == .openImage)
  }

  /// `:size N` runs the model at N x N pixels from then on: the worker reopens the image through the sizer, and the
  /// images opened after it keep the size.
  @Test func theCommandLineSetsTheInputSize() throws {
    #expect(ExplorerCommand.parse("size 16", depth: 3) == .success(.size(16)))
    var state = try fixtureState()
    _ = update(&state, .openCommandPrompt)
    _ = update(&state, .editPrompt("size 16"))
    #expect(update(&state, .submitPrompt) == [.setInputSize(path: "input.png", size: 16)])
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let input = try fixtureImage()
    let context = state.context
    let sized: Worker.InputSizer = { path, size in
      let pipeline = Preprocessing.timm(inputSize: (size, size), channels: 1, cropPct: 1, mean: [0.2860], std: [0.3530],
                                        interpolation: .bicubic)
      let image = try ModelImage(image: input.image, name: path, pipeline: pipeline, patchSize: 2)
      var c = context
      c.imageName = path
      c.grid = (size / 2, size / 2)
      return (c, image)
    }
    let worker = Worker(model: model, input: input, opener: { path in
      var c = context
      c.imageName = path
      return (c, input)
    }, sizer: sized)
    worker.start(.setInputSize(path: "input.png", size: 16))
    worker.start(.compute(.baseline))
    worker.start(.openImage("other.png"))
    worker.waitUntilIdle()
    let results = worker.drain()
    guard results.count == 3, case .imageOpened(let opened) = results[0], case .computed(let run) = results[1],
      case .imageOpened(let other) = results[2]
    else { Issue.record("unexpected results \(results)"); return }
    #expect(opened.grid == (8, 8) && run.grid == GridSize(rows: 8, cols: 8), "the model ran on an 8x8 grid")
    #expect(other.grid == (8, 8), "an image opened later keeps the size")
    let refused = Worker(model: model, input: input)
    refused.start(.setInputSize(path: "input.png", size: 16))
    refused.waitUntilIdle()
    #expect("\(refused.drain())".contains("not available here"))
  }

  /// A lesson page exports as its figure with the page's title and text under it.
  @Test func aLessonPageExportsWithItsText() throws {
    var state = try fixtureState()
    _ = update(&state, .startLesson)
    _ = update(&state, .lessonStep(1))
    state.runs[state.methods[0].canonical] = try fixtureState(methods: state.methods.map(\.canonical)).runs[state.methods[0].canonical]
    let effects = update(&state, .export)
    guard case .export(var request)? = effects.first else { Issue.record("no export: \(effects)"); return }
    #expect(request.path.hasSuffix("-lesson2.png"))
    #expect(request.notes?.hasPrefix("lesson 2/\(Lesson.pages.count): \(Lesson.pages[1].title)\n") == true)
    request.path = NSTemporaryDirectory() + "tokenscope-lesson-\(getpid()).png"
    defer { try? FileManager.default.removeItem(atPath: request.path) }
    var plain = request
    plain.notes = nil
    plain.path = request.path + ".plain.png"
    defer { try? FileManager.default.removeItem(atPath: plain.path) }
    _ = Worker.export(request)
    _ = Worker.export(plain)
    let withText = try ImageLoader.load(path: request.path), without = try ImageLoader.load(path: plain.path)
    let words = Lesson.pages[1].text.count / 60
    #expect(withText.height > without.height + words * Canvas.lineHeight, "the text adds at least a row per 60 characters")
  }

  /// DINOv2's outliers: one large weight flattens a linear scale; log and percentile keep the rest apart.
  @Test func attentionScales() throws {
    let weights: [Float] = [0.9, 0.01, 0.001, 0.0001, 0.00001]
    #expect(AttentionScale.linear.normalized(weights).map { ($0 * 100).rounded() } == [100, 1, 0, 0, 0])
    let log = AttentionScale.log.normalized(weights)
    #expect(abs(log[1] - (1 - log10(90.0) / 3)) < 1e-9 && log[4] == 0)
    #expect(AttentionScale.percentile.normalized(weights) == [1, 0.75, 0.5, 0.25, 0])
    var state = try fixtureState()
    state.view = .attention
    #expect(action(for: .char("s"), state: state).map { "\($0)" } == "cycleAttentionScale")
    _ = update(&state, .cycleAttentionScale)
    let legend = screen(state, 120, 40).lines[38]
    #expect(legend.contains("query CLS, mean of 2 heads, log scale"), "\(legend)")
    _ = update(&state, .cycleHead)
    #expect(screen(state, 120, 40).lines[38].contains("head 1 of 2"))
  }

  @Test func commandLineParsesCompletesAndRemembers() throws {
    #expect(ExplorerCommand.parse("method tome:r=8", depth: 12) == .success(.method(try MethodSpec.parse("tome:r=8"))))
    #expect(ExplorerCommand.parse("block 11", depth: 12) == .success(.layer(11)))
    #expect(ExplorerCommand.parse("block 12", depth: 12) == .failure(CommandError(":block needs a block number from 0 to 11")))
    #expect(ExplorerCommand.parse("view groups", depth: 12) == .success(.view(.groups)))
    #expect(ExplorerCommand.parse("head mean", depth: 12) == .success(.head(nil)))
    guard case .failure(let bad) = ExplorerCommand.parse("method tome:r=x", depth: 12) else { Issue.record("accepted"); return }
    #expect(bad.message.contains("r"))
    guard case .failure(let unknown) = ExplorerCommand.parse("frobnicate", depth: 12) else { Issue.record("accepted"); return }
    #expect(unknown.message.hasPrefix("unknown command :frobnicate; the commands are method, add"))
    // Completion: commands, method names, views, paths (with ~).
    #expect(ExplorerCommand.complete("me") == "method ")
    #expect(ExplorerCommand.complete("add vis") == "add visionzip")
    #expect(ExplorerCommand.complete("view gr") == "view groups")
    let listing: (String) -> [String] = { dir in dir.hasSuffix("photos/") ? ["cat.jpg", "cow.png", "boot.png"] : ["photos/", "fashion/"] }
    #expect(ExplorerCommand.complete("open samples/images/photos/c", files: listing) == "open samples/images/photos/c")
    #expect(ExplorerCommand.complete("open samples/images/photos/ca", files: listing) == "open samples/images/photos/cat.jpg")
    #expect(ExplorerCommand.complete("open ph", files: listing) == "open photos/")
    // Through the state: add a slot, remove it, history on ↑.
    var state = try fixtureState()
    #expect(action(for: .char(":"), state: state).map { "\($0)" } == "openCommandPrompt")
    _ = update(&state, .openCommandPrompt)
    #expect(action(for: .tab, state: state).map { "\($0)" } == "completePrompt")
    _ = update(&state, .editPrompt("add idle"))
    let effects = update(&state, .submitPrompt)
    #expect(state.methods.count == 3 && state.compare && state.focus == 2)
    #expect(effects == [.compute(try MethodSpec.parse("idle"))])
    _ = update(&state, .openCommandPrompt)
    _ = update(&state, .editPrompt("remove 1"))
    _ = update(&state, .submitPrompt)
    #expect(state.methods.map(\.name) == ["tome", "idle"])
    _ = update(&state, .openCommandPrompt)
    _ = update(&state, .historyStep(-1))
    #expect(state.prompt == "remove 1")
    _ = update(&state, .historyStep(-1))
    #expect(state.prompt == "add idle")
    _ = update(&state, .historyStep(1))
    _ = update(&state, .historyStep(1))
    #expect(state.prompt == "")
    _ = update(&state, .editPrompt("block 99"))
    _ = update(&state, .submitPrompt)
    #expect(state.message == ":block needs a block number from 0 to 2")
  }

  /// The maps drawn over the image become images over the same cells as their text, painted as render paints them;
  /// the run loop hands them to a backend that shows images and to no other.
  @Test func mapsBecomeImagesWhereTheTerminalShowsThem() throws {
    var state = try fixtureState()
    state.layer = 1
    let size = Size(width: 120, height: 40)
    let placements = ExplorerScreen(state: state, appearance: .rich).imagePlacements(size: size)
    let geometry = try #require(ExplorerScreen.focusedMapGeometry(state: state, size: size))
    #expect(placements.count == 1)
    #expect(placements.first?.cells == Rect(x: geometry.x, y: geometry.y, width: 6 * geometry.cellWidth, height: 6 * geometry.cellHeight))
    let layer = try #require(state.focusedRun?.layers[1])
    let painted = TokenMapPainter(input: state.context.image, grid: (6, 6), scale: 8).paint(.status, layer: layer)
    #expect(placements.first?.image == PixelImage(width: painted.width, height: painted.height, channels: 3, pixels: painted.pixels))
    state.compare = true
    #expect(ExplorerScreen(state: state, appearance: .rich).imagePlacements(size: size).count == 2)
    state.view = .score
    #expect(ExplorerScreen(state: state, appearance: .rich).imagePlacements(size: size).isEmpty, "not drawn over the image")
    state.view = .status
    state.showHelp = true
    #expect(ExplorerScreen(state: state, appearance: .rich).imagePlacements(size: size).isEmpty, "the help covers the maps")

    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    for graphics in [GraphicsProtocol.kitty, nil] {
      var app = ExplorerApp(state: try fixtureState(), worker: Worker(model: model, input: try fixtureImage()), appearance: .rich)
      var backend = TestBackend(size: size, events: [.right, .char("q")])
      backend.graphics = graphics
      app.run(backend: &backend)
      #expect(backend.shownImages.isEmpty == (graphics == nil))
      if graphics != nil { #expect(backend.shownImages.last?.count == 1) }
    }
  }
}
