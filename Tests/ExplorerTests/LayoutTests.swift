// The explorer in small and large windows, on the bundled Fashion-MNIST ViT at two grids: 14x14 (DeiT-S's grid, the
// model's own 28 px input) and 16x16 (DINOv2-S/14's at 224 px: the same model at 32 px, its position embedding
// resampled). Screens at 60x20, 80x24, 120x40 and 200x60 are snapshots; a sweep of sizes checks that no map ever
// draws over its box or the lesson box, and that the degradations come in their stated order.
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

enum BundledGrid: Int, CaseIterable, CustomStringConvertible {
  case deitS = 14, dinov2 = 16
  var description: String { "\(rawValue)x\(rawValue)" }
}

/// The bundled model on a bundled image at `grid`, with EViT and ToMe computed (cached: twelve blocks each).
func bundledState(_ grid: BundledGrid) throws -> ExplorerState {
  if let cached = BundledStates.shared.get(grid) { return cached }
  let model = try ModelLoader.load(path: repositoryRoot + "/samples/models/fashion-vit.safetensors")
  let path = repositoryRoot + "/samples/images/fashion/ankle-boot-1.png"
  let side = grid.rawValue * 2
  let pipeline = side == 28 ? Preprocessing.none(inputSize: (28, 28), channels: 1, mean: [0.2860], std: [0.3530])
    : Preprocessing.deit(inputSize: (side, side), channels: 1, mean: [0.2860], std: [0.3530])
  let input = try ModelImage(image: try ImageLoader.load(path: path), name: "ankle-boot-1.png", pipeline: pipeline, patchSize: 2)
  let context = ExplorerContext(modelName: "fashion-vit.safetensors", modelSummary: "timm, 12 blocks, width 64, 4 heads, patch 2, grid 14x14",
                                imageName: "ankle-boot-1.png", preprocessing: "test", image: pipeline.resized(input.image), depth: 12,
                                grid: (grid.rawValue, grid.rawValue), heads: 4)
  var state = ExplorerState(context: context, methods: [try MethodSpec.parse("evit"), try MethodSpec.parse("tome")])
  for spec in state.methods { state.runs[spec.canonical] = try input.methodRun(try MethodPlan(spec: spec, model: model)) }
  #expect(state.runs.values.allSatisfy { $0.grid == GridSize(rows: grid.rawValue, cols: grid.rawValue) })
  BundledStates.shared.set(grid, state)
  return state
}

final class BundledStates: @unchecked Sendable {
  static let shared = BundledStates()
  private let lock = NSLock()
  private var states: [BundledGrid: ExplorerState] = [:]
  func get(_ grid: BundledGrid) -> ExplorerState? { lock.withLock { states[grid] } }
  func set(_ grid: BundledGrid, _ state: ExplorerState) { lock.withLock { states[grid] = state } }
}

let snapshotSizes = [Size(width: 60, height: 20), Size(width: 80, height: 24), Size(width: 120, height: 40), Size(width: 200, height: 60)]

@Suite("Explorer layout")
struct LayoutTests {
  @Test(arguments: BundledGrid.allCases)
  func statusScreens(grid: BundledGrid) throws {
    var state = try bundledState(grid)
    state.layer = 4
    for size in snapshotSizes {
      assertSnapshot(screen(state, size.width, size.height), named: "layout-status-\(grid)-\(size)")
    }
  }

  /// Lesson page 5 (ToMe's merges), the one that drew its map over its text at 80x24.
  @Test(arguments: BundledGrid.allCases)
  func lessonScreens(grid: BundledGrid) throws {
    var state = try bundledState(grid)
    let page = try #require(Lesson.pages.firstIndex { $0.methods == ["tome"] })
    let base = state
    Lesson.apply(page, to: &state)
    state.runs.merge(try lessonRuns(state: state, base: base)) { a, _ in a }
    #expect(state.methods.allSatisfy { state.runs[$0.canonical] != nil })
    for size in snapshotSizes {
      assertSnapshot(screen(state, size.width, size.height), named: "layout-lesson-\(grid)-\(size)")
    }
  }

  static let sweep: [Size] = [Size(width: 60, height: 20), Size(width: 70, height: 20), Size(width: 72, height: 22),
                              Size(width: 80, height: 22), Size(width: 80, height: 24), Size(width: 90, height: 26),
                              Size(width: 100, height: 30), Size(width: 120, height: 40), Size(width: 200, height: 60)]

  /// Every box keeps its frame: a map that drew past its box would write over a side or the bottom edge of its own
  /// frame, or over the lesson box's.
  @Test(arguments: BundledGrid.allCases)
  func noMapDrawsOutsideItsBox(grid: BundledGrid) throws {
    let base = try bundledState(grid)
    for size in Self.sweep {
      for ascii in [false, true] {
        for variant in 0..<4 {
          var state = base
          state.view = variant == 3 ? .groups : .status
          if variant == 1 { state.compare = true }
          if variant == 2 { Lesson.apply(try #require(Lesson.pages.firstIndex { $0.methods == ["tome"] }), to: &state) }
          if variant == 2 { state.runs = base.runs.merging(try lessonRuns(state: state, base: base)) { a, _ in a } }
          let buffer = screen(state, size.width, size.height, ascii: ascii)
          let plan = ScreenLayout.plan(state: state, size: size, color: !ascii)
          let label = "\(grid) \(size) variant \(variant) ascii \(ascii)"
          let boxes = plan.maps.columns(Array(repeating: .fill(1), count: state.compare ? state.methods.count : 1), spacing: 1)
          for box in boxes + [plan.lesson].compactMap({ $0 }) {
            expectFrame(buffer, box, ascii: ascii, label)
          }
        }
      }
    }
  }

  /// The steps a window takes come in `Degradation`'s order, and a larger window never takes more of them.
  @Test(arguments: BundledGrid.allCases)
  func degradationsComeInTheirOrder(grid: BundledGrid) throws {
    var state = try bundledState(grid)
    Lesson.apply(4, to: &state)
    let order = Degradation.allCases
    var previous: [Degradation]? = nil
    for height in stride(from: 40, through: 20, by: -2) {
      let plan = ScreenLayout.plan(state: state, size: Size(width: 80, height: height))
      let indices = plan.degradations.map { order.firstIndex(of: $0)! }
      #expect(indices == indices.sorted(), "\(plan.degradations)")
      if let previous { #expect(Set(previous).isSubset(of: Set(plan.degradations)), "\(height) rows: \(plan.degradations)") }
      previous = plan.degradations
    }
    // The window that drew its map over the lesson now moves the lesson beside the map and keeps two columns a patch.
    let plan = ScreenLayout.plan(state: state, size: Size(width: 80, height: 24))
    #expect(plan.degradations.first == .lessonBeside && plan.cells == .blocks(scale: 1), "\(plan)")
    // DINOv2-shaped at 80x22 keeps two columns a patch beside the layer panel, at one header row, and the heads'
    // entropies on one row where a bar per head does not fit.
    state = try bundledState(grid)
    let small = ScreenLayout.plan(state: state, size: Size(width: 80, height: 22))
    #expect(small.cells == .blocks(scale: 1) && small.side != nil && small.compactHeader == (grid == .dinov2), "\(small)")
    let text = screen(state, 80, 22).lines.joined(separator: "\n")
    #expect(text.contains("h1-4 "), "head entropies:\n\(text)")
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("h4 "), "a bar per head where they fit")
  }

  /// Cells grow with the window: the largest 2s x s blocks that fit.
  @Test func cellsGrowWithTheWindow() throws {
    let state = try bundledState(.deitS)
    #expect(ScreenLayout.plan(state: state, size: Size(width: 120, height: 40)).cells == .blocks(scale: 2))
    #expect(ScreenLayout.plan(state: state, size: Size(width: 200, height: 60)).cells == .blocks(scale: 3))
    #expect(ScreenLayout.plan(state: state, size: Size(width: 60, height: 20)).cells == .blocks(scale: 1))
    // Compare at 60x20: two maps still get two columns a patch, three get one, four show the middle that fits.
    var compare = state
    compare.compare = true
    let small = Size(width: 60, height: 20)
    #expect(ScreenLayout.plan(state: compare, size: small).cells == .blocks(scale: 1))
    compare.methods.append(MethodSpec.baseline)
    #expect(ScreenLayout.plan(state: compare, size: small).cells == .narrow)
    compare.methods.append(try MethodSpec.parse("idle"))
    #expect(ScreenLayout.plan(state: compare, size: small).cells == .cropped(firstRow: 0, firstCol: 1, rows: 14, cols: 13))
    // A lesson at 60x20 leaves the map ten rows: half blocks in colour, the middle ten rows without.
    var lesson = state
    Lesson.apply(4, to: &lesson)
    #expect(ScreenLayout.plan(state: lesson, size: small).cells == .halfBlock)
    #expect(ScreenLayout.plan(state: lesson, size: small, color: false).cells == .cropped(firstRow: 2, firstCol: 0, rows: 10, cols: 14))
  }

  /// Projector mode: the maps take the header's rows and the layer panel's columns (bigger cells), no text is dim,
  /// and the palette is the high-contrast one.
  @Test func projectorMode() throws {
    var state = try bundledState(.deitS)
    let size = Size(width: 90, height: 40)
    #expect(ScreenLayout.plan(state: state, size: size).cells == .blocks(scale: 1))
    #expect(action(for: .char("P"), state: state).map { "\($0)" } == "toggleLarge")
    _ = update(&state, .toggleLarge)
    let plan = ScreenLayout.plan(state: state, size: size)
    #expect(plan.cells == .blocks(scale: 2) && plan.side == nil && plan.compactHeader)
    state.view = .groups
    let buffer = screen(state, 90, 40)
    #expect(!(0..<40).contains { y in (0..<90).contains { buffer[$0, y].style.dim } })
    let legend = buffer.lines[38]
    #expect(legend.contains("kept"))
    let kept = try #require((0..<90).first { buffer[$0, 38].symbol == "█" })
    #expect(buffer[kept, 38].style.fg == Theme.highContrast.color(.kept).color)
  }

  /// The lesson text scrolls where its box is short, and PgUp answers at once after PgDn went past the end.
  @Test func lessonTextScrolls() throws {
    var state = try bundledState(.dinov2)
    Lesson.apply(4, to: &state)
    let size = Size(width: 60, height: 20)
    let limit = ExplorerScreen.lessonScrollLimit(state: state, size: size)
    #expect(limit > 0, "page 5 is longer than a 60x20 lesson box")
    let first = screen(state, 60, 20).lines.joined(separator: "\n")
    #expect(first.contains("PgDn more"))
    #expect(action(for: .pageDown, state: state).map { "\($0)" } == "scrollLesson(3)")
    #expect(action(for: .mouse(x: 1, y: 1, kind: .wheelDown), state: state).map { "\($0)" } == "scrollLesson(1)")
    // Through the app, which clamps the scroll to what the window shows.
    var app = ExplorerApp(state: state, worker: Worker(model: try ModelLoader.load(path: repositoryRoot + "/samples/models/fashion-vit.safetensors"),
                                                       input: try fixtureImage()), appearance: .rich)
    for _ in 0..<20 { app.send(.scrollLesson(3), size: size) }
    #expect(app.state.lessonScroll == limit)
    state = app.state
    let last = screen(state, 60, 20).lines.joined(separator: "\n")
    #expect(last.contains("PgUp back") && !last.contains("PgDn more"))
    let words = Lesson.pages[4].text.split(separator: " ")
    #expect(last.contains(String(words.last!)), "the last word is reachable")
    _ = update(&state, .lessonStep(1))
    #expect(state.lessonScroll == 0, "a new page starts at its top")
  }
}

/// The runs a lesson page needs, from the cached ones (the lesson's specs are the presets, so the names match).
func lessonRuns(state: ExplorerState, base: ExplorerState) throws -> [String: MethodRun] {
  var runs: [String: MethodRun] = [:]
  for spec in state.methods { if let run = base.runs.values.first(where: { $0.spec.name == spec.name }) { runs[spec.canonical] = run } }
  return runs
}

/// The frame of `box` is whole: its two sides and the bottom edge's corners, and (uncropped) its bottom edge.
func expectFrame(_ buffer: Buffer, _ box: Rect, ascii: Bool, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
  let vertical: Set<String> = ascii ? ["|"] : ["│"]
  let horizontal: Set<String> = ascii ? ["-"] : ["─"]
  let corners: Set<String> = ascii ? ["+"] : ["╰", "╯"]
  guard box.width >= 2, box.height >= 2 else { return }
  for y in (box.y + 1)..<(box.bottom - 1) {
    #expect(vertical.contains(buffer[box.x, y].symbol) && vertical.contains(buffer[box.right - 1, y].symbol),
            "\(label): side of \(box) at row \(y)", sourceLocation: sourceLocation)
  }
  let bottom = box.bottom - 1
  #expect(corners.contains(buffer[box.x, bottom].symbol) && corners.contains(buffer[box.right - 1, bottom].symbol),
          "\(label): corners of \(box)", sourceLocation: sourceLocation)
  let edge = (box.x + 1..<(box.right - 1)).map { buffer[$0, bottom].symbol }
  // A cropped map writes which part it shows on its bottom edge: the rest of the edge stays.
  let written = buffer.lines[bottom].contains(" rows ")
  #expect(written || edge.allSatisfy { horizontal.contains($0) }, "\(label): bottom edge of \(box): \(edge.joined())",
          sourceLocation: sourceLocation)
}
