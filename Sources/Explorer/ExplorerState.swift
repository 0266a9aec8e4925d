// The explorer's state and the only way it changes: update(state, action) -> effects. Effects (computations) are run
// by the app on a worker thread, whose results come back as actions. This keeps every screen a pure function of the
// state, testable without a terminal.
import Figures
import Pixels
import TokenMethods
import TUI

public enum TokenMapView: String, CaseIterable, Sendable {
  // score, roles and counts draw what a method annotated (TokenAnnotations); each says so where there is nothing.
  case status, image, groups, attention, clusters, stages, pruning, score, roles, counts
  /// Each token's L2 norm after the block: the high-norm artefact tokens of ViTs without registers stand out.
  case norms

  public var title: String {
    switch self {
    case .status: return "token status"
    case .image: return "image"
    case .groups: return "merge groups"
    case .attention: return "CLS attention"
    case .clusters: return "key/value clusters"
    case .stages: return "cascade stages"
    case .pruning: return "heads and MLP kept"
    case .score: return "per-token score"
    case .roles: return "token roles"
    case .counts: return "tokens against the reference"
    case .norms: return "token norm"
    }
  }
}

/// Everything the screen shows that does not change while exploring one image with one model.
public struct ExplorerContext: Sendable {
  public var modelName: String
  public var modelSummary: String
  public var imageName: String
  public var preprocessing: String
  public var image: PixelImage
  public var depth: Int
  public var grid: (rows: Int, cols: Int)
  public var heads: Int

  public init(modelName: String, modelSummary: String, imageName: String, preprocessing: String, image: PixelImage,
              depth: Int, grid: (rows: Int, cols: Int), heads: Int) {
    self.modelName = modelName; self.modelSummary = modelSummary; self.imageName = imageName
    self.preprocessing = preprocessing; self.image = image; self.depth = depth; self.grid = grid; self.heads = heads
  }
}

public struct ExplorerState: Sendable {
  public var context: ExplorerContext
  /// The methods on screen (1-4); `focus` is the one the side panel describes and `m`/`+`/`-` change.
  public var methods: [MethodSpec]
  public var focus = 0
  public var runs: [String: MethodRun] = [:]
  public var pending: Set<String> = []
  public var errors: [String: String] = [:]
  /// 0-based block index.
  public var layer = 0
  public var view: TokenMapView = .status
  /// Attention head shown in the attention view (nil: mean over heads).
  public var head: Int? = nil
  public var compare = false
  public var highlightDifferences = false
  public var playing = false
  public var showHelp = false
  /// The plots screen (tokens and MACs per layer for every method, entropy by layer and head) instead of the maps.
  public var showPlots = false
  /// The lesson page on screen (`Lesson.pages`), nil outside lesson mode.
  public var lessonPage: Int? = nil
  /// The methods on screen when the lesson started, restored when it ends.
  public var methodsBeforeLesson: [MethodSpec]? = nil
  public var helpPage = 0
  /// Patch under the cursor (row, col), when the cursor is on.
  public var cursor: (row: Int, col: Int)? = nil
  public var message: String? = nil
  /// Images `n`/`N` cycle through (the bundled samples); the current one is `context.imageName`.
  public var samples: [String] = []
  /// The text typed after `o` (open an image by path), while the prompt is open.
  public var prompt: String? = nil
  public var shouldQuit = false
  public var spinner = 0

  /// The cursor's patch in `run`'s grid (the cursor lives on the image's grid; a DVT stage may answer on a coarser one).
  public func cursorPatch(in run: MethodRun) -> Int? {
    guard let c = cursor else { return nil }
    let g = run.grid, n = context.grid
    let row = min(c.row * g.rows / max(n.rows, 1), g.rows - 1), col = min(c.col * g.cols / max(n.cols, 1), g.cols - 1)
    return row * g.cols + col
  }

  public init(context: ExplorerContext, methods: [MethodSpec]) {
    self.context = context
    self.methods = methods.isEmpty ? [MethodSpec.baseline] : Array(methods.prefix(4))
  }

  public var focusedSpec: MethodSpec { methods[focus] }
  public var focusedRun: MethodRun? { runs[focusedSpec.canonical] }
  public var isBusy: Bool { !pending.isEmpty }

  /// Specs for which no result or computation exists yet.
  public var missingSpecs: [MethodSpec] {
    methods.filter { runs[$0.canonical] == nil && pending.contains($0.canonical) == false && errors[$0.canonical] == nil }
  }
}

public enum Action: Sendable {
  case nextLayer, previousLayer, firstLayer, lastLayer
  case nextView, previousView
  case cycleMethod(Int)
  case adjustParameter(Int)
  case focusMethod(Int)
  case toggleCompare, toggleDifferences
  case cycleHead
  case togglePlay, tick
  case toggleHelp, helpPage(Int), escape
  case togglePlots
  /// Lesson mode: start at the first page, move by pages, leave.
  case startLesson, lessonStep(Int), endLesson
  case moveCursor(dx: Int, dy: Int), clickPatch(row: Int, col: Int)
  /// Next/previous bundled sample image.
  case cycleImage(Int)
  /// The `o` prompt: open, edit (the whole text), submit, cancel.
  case openPrompt, editPrompt(String), submitPrompt, cancelPrompt
  /// A new image is loaded (from the worker): every method is recomputed on it.
  case imageOpened(ExplorerContext)
  /// Write the current view of the shown methods at the current layer as a PNG figure (`render`'s code).
  case export
  case quit
  case computed(MethodRun)
  case failed(spec: String, message: String)
  case showMessage(String)
}

public enum Effect: Equatable, Sendable {
  case compute(MethodSpec)
  /// Load and preprocess this image on the worker; it answers `.imageOpened` or `.showMessage`.
  case openImage(String)
  /// Draw and write a figure on the worker; it answers `.showMessage`.
  case export(ExportRequest)
}

/// What `e` writes: the shown methods' maps at one layer, in the current view, as `tokenscope render` draws them.
public struct ExportRequest: Equatable, Sendable {
  public var path: String
  public var runs: [MethodRun]
  public var layer: Int
  public var view: FigureView
  public var image: PixelImage
  public var title: String

  public static func == (a: ExportRequest, b: ExportRequest) -> Bool {
    a.path == b.path && a.layer == b.layer && a.view == b.view && a.runs.map(\.spec) == b.runs.map(\.spec)
  }
}

/// The specs `m` cycles through: every registered method's presets.
public var methodPresets: [String] { MethodRegistry.presets }

/// Changes the state; returns the computations to start.
public func update(_ state: inout ExplorerState, _ action: Action) -> [Effect] {
  let depth = state.context.depth
  var effects: [Effect] = []
  switch action {
  case .tick, .computed, .failed, .showMessage, .imageOpened: break
  default: state.message = nil  // a key press dismisses the last message
  }
  switch action {
  case .nextLayer: state.layer = min(state.layer + 1, depth - 1)
  case .previousLayer: state.layer = max(state.layer - 1, 0)
  case .firstLayer: state.layer = 0
  case .lastLayer: state.layer = depth - 1
  case .nextView, .previousView:
    let all = TokenMapView.allCases
    let step = { if case .nextView = action { return 1 } else { return all.count - 1 } }()
    state.view = all[(all.firstIndex(of: state.view)! + step) % all.count]
  case .cycleMethod(let step):
    let presets = methodPresets.compactMap { try? MethodSpec.parse($0) }
    let current = presets.firstIndex(of: state.focusedSpec) ?? presets.firstIndex { $0.name == state.focusedSpec.name } ?? 0
    state.methods[state.focus] = presets[((current + step) % presets.count + presets.count) % presets.count]
  case .adjustParameter(let step):
    if let spec = state.focusedSpec.stepped(step) { state.methods[state.focus] = spec } else {
      state.message = "\(state.focusedSpec.name) has no parameter to adjust"
    }
  case .focusMethod(let i): if i < state.methods.count { state.focus = i }
  case .toggleCompare:
    state.compare.toggle()
    if state.compare && state.methods.count == 1 {
      // Compare needs at least two: add the next preset that is not on screen.
      let onScreen = Set(state.methods.map(\.name))
      if let name = methodPresets.first(where: { !onScreen.contains($0) && $0 != "none" }), let spec = try? MethodSpec.parse(name) {
        state.methods.append(spec)
      }
    }
  case .toggleDifferences: state.highlightDifferences.toggle()
  case .cycleHead:
    let heads = state.context.heads
    state.head = state.head.map { $0 + 1 < heads ? $0 + 1 : nil } ?? (heads > 0 ? 0 : nil)
  case .togglePlay: state.playing.toggle()
  case .tick:
    state.spinner += 1
    if state.playing { state.layer = state.layer + 1 < depth ? state.layer + 1 : 0 }
  case .toggleHelp: state.showHelp.toggle(); state.helpPage = 0
  case .togglePlots: state.showPlots.toggle()
  case .startLesson:
    if state.lessonPage == nil { state.methodsBeforeLesson = state.methods }
    Lesson.apply(0, to: &state)
  case .lessonStep(let step):
    let page = (state.lessonPage ?? 0) + step
    if page >= 0 && page < Lesson.pages.count { Lesson.apply(page, to: &state) }
  case .endLesson: endLesson(&state)
  case .helpPage(let step): state.helpPage = max(0, state.helpPage + step)
  case .escape:
    if state.showHelp { state.showHelp = false } else if state.lessonPage != nil { endLesson(&state) } else if state.showPlots { state.showPlots = false } else if state.cursor != nil { state.cursor = nil } else if state.compare { state.compare = false }
  case .moveCursor(let dx, let dy):
    let g = state.context.grid
    let c = state.cursor ?? (row: g.rows / 2, col: g.cols / 2)
    state.cursor = (row: min(max(c.row + dy, 0), g.rows - 1), col: min(max(c.col + dx, 0), g.cols - 1))
  case .clickPatch(let row, let col): state.cursor = (row: row, col: col)
  case .cycleImage(let step):
    guard !state.samples.isEmpty else { state.message = "no bundled sample images found"; break }
    let n = state.samples.count
    let current = state.samples.firstIndex(of: state.context.imageName) ?? (step > 0 ? -1 : 0)
    let next = state.samples[((current + step) % n + n) % n]
    state.message = "opening \(next)"
    effects.append(.openImage(next))
  case .openPrompt: state.prompt = ""
  case .editPrompt(let text): state.prompt = text
  case .cancelPrompt: state.prompt = nil
  case .submitPrompt:
    let path = state.prompt ?? ""
    state.prompt = nil
    if !path.isEmpty {
      state.message = "opening \(path)"
      effects.append(.openImage(path))
    }
  case .imageOpened(let context):
    // Results for the previous image are dropped; the worker's queue has already finished them (it is serial).
    state.context = context
    state.runs = [:]
    state.errors = [:]
    state.pending = []
    state.cursor = nil
    state.message = "opened \(context.imageName)"
  case .export:
    let shown = state.compare ? state.methods : [state.focusedSpec]
    let runs = shown.compactMap { state.runs[$0.canonical] }
    guard runs.count == shown.count, !runs.isEmpty else { state.message = "still computing; export when the maps are drawn"; break }
    // The stage, pruning and counts panels are not token maps, and figures have no norm map: they export as the status
    // map.
    let view: FigureView = switch state.view {
    case .status, .stages, .pruning, .counts, .norms: .status
    case .score: .score
    case .roles: .roles
    case .image: .image
    case .groups: .groups
    case .attention: .attention
    case .clusters: .clusters
    }
    let base = (state.context.imageName.split(separator: "/").last.map(String.init) ?? "image")
      .split(separator: ".").first.map(String.init) ?? "image"
    let path = "tokenscope-\(base)-block\(state.layer)-\(view.rawValue).png"
    state.message = "writing \(path)"
    effects.append(.export(ExportRequest(path: path, runs: runs, layer: state.layer, view: view, image: state.context.image,
                                         title: "\(state.context.modelName) on \(base), \(view.rawValue) view")))
  case .quit: state.shouldQuit = true
  case .computed(let run):
    state.pending.remove(run.spec.canonical)
    state.runs[run.spec.canonical] = run
  case .failed(let spec, let message):
    state.pending.remove(spec)
    state.errors[spec] = message
    state.message = message
  case .showMessage(let text): state.message = text
  }
  let computations = state.missingSpecs.map { Effect.compute($0) }
  for case .compute(let spec) in computations { state.pending.insert(spec.canonical) }
  return effects + computations
}

/// Leaves lesson mode and puts back the methods that were on screen before it.
func endLesson(_ state: inout ExplorerState) {
  state.lessonPage = nil
  if let methods = state.methodsBeforeLesson, !methods.isEmpty {
    state.methods = methods
    state.focus = 0
  }
  state.methodsBeforeLesson = nil
}
