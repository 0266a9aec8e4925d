// The explorer's state and the only way it changes: update(state, action) -> effects. Effects (computations) are run
// by the app on a worker thread, whose results come back as actions. This keeps every screen a pure function of the
// state, testable without a terminal.
import Figures
import Foundation
import Pixels
import TokenMethods
import TUI

public enum TokenMapView: String, CaseIterable, Sendable {
  // score, roles and counts draw what a method annotated (TokenAnnotations); each says so where there is nothing.
  case status, image, groups, attention, clusters, stages, pruning, score, roles, counts
  // relevance, ablation and lens are the attribution views (AttributionPanels.swift).
  case relevance, ablation, lens
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
    case .relevance: return "relevance (attention rollout)"
    case .ablation: return "ablation effect per token"
    case .lens: return "logit lens per token"
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
  /// `runs`' keys, oldest result first (ComputeAhead.swift drops the oldest off-screen ones).
  public var runOrder: [String] = []
  public var pending: Set<String> = []
  /// Runs the worker computes ahead of a key asking for them (ComputeAhead.swift); off unless the app turns it on.
  public var computeAhead = false
  public var lookingAhead: Set<String> = []
  public var errors: [String: String] = [:]
  /// 0-based block index.
  public var layer = 0
  public var view: TokenMapView = .status
  /// Attention head shown in the attention view (nil: mean over heads).
  public var head: Int? = nil
  /// How the attention view maps weights to colours (`s` cycles).
  public var attentionScale: AttentionScale = .linear
  /// The attention view's query: the cursor's token (`A`) instead of CLS.
  public var queryAtCursor = false
  public var compare = false
  public var highlightDifferences = false
  public var playing = false
  /// Milliseconds per block while playing (`<` slower, `>` faster, along `ExplorerState.playSpeeds`).
  public var playIntervalMs = 600
  public var showHelp = false
  /// The plots screen (tokens and MACs per layer for every method, entropy by layer and head) instead of the maps.
  public var showPlots = false
  /// The lesson page on screen (`Lesson.pages`), nil outside lesson mode.
  public var lessonPage: Int? = nil
  /// The methods on screen when the lesson started, restored when it ends.
  public var methodsBeforeLesson: [MethodSpec]? = nil
  /// Rows of the lesson text scrolled past (PgDn/PgUp); the screen clamps it to the text's length.
  public var lessonScroll = 0
  public var helpPage = 0
  /// Patch under the cursor (row, col), when the cursor is on.
  public var cursor: (row: Int, col: Int)? = nil
  public var message: String? = nil
  /// Images `n`/`N` cycle through (the bundled samples); the current one is `context.imageName`.
  public var samples: [String] = []
  /// The text typed after `o` (open an image by path) or `e` (where to write the figure), while the prompt is open.
  public var prompt: String? = nil
  /// What Enter does with the prompt's text.
  public var promptKind: PromptKind = .openImage
  /// The `:` commands entered in this session, oldest first, and the one ↑/↓ shows (nil: the text being typed).
  public var commandHistory: [String] = []
  public var historyIndex: Int? = nil
  public var shouldQuit = false
  public var spinner = 0
  /// The tokens dropped by `x` and their effect; the ranking made by `X` (AttributionState.swift).
  public var ablation: AblationProbe? = nil
  public var ranking: AblationRanking? = nil
  /// The patch-state palette, projector mode (bigger cells, bold text, high contrast) and keys from the settings.
  public var theme: Theme = .standard
  public var large = false
  public var keyBindings: [Character: BindableAction] = [:]
  /// Dataset maps (`--maps FILE`, `:maps FILE`): the plots page sets their mean map beside this image's.
  public var datasetMaps: LoadedMaps? = nil

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
  /// The palette in use: projector mode's high contrast, else the chosen one.
  public var activeTheme: Theme { large ? .highContrast : theme }
  public var focusedRun: MethodRun? { runs[focusedSpec.canonical] }
  public var isBusy: Bool { !pending.isEmpty }

  /// Specs for which no result or computation exists yet.
  public var missingSpecs: [MethodSpec] {
    // The relevance view also needs the baseline's rollout, for relevance kept.
    wantedSpecs.filter {
      runs[$0.canonical] == nil && !pending.contains($0.canonical) && !lookingAhead.contains($0.canonical) && errors[$0.canonical] == nil
    }
  }
}

/// Dataset maps read from a file (`eval --maps DIR` wrote it), and the file (a folder's maps.json).
public struct LoadedMaps: Sendable {
  public var path: String
  public var maps: DatasetMaps
  public init(path: String, maps: DatasetMaps) { self.path = path; self.maps = maps }
  /// The file's name, as panels show it.
  public var name: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// What the footer's prompt asks for.
public enum PromptKind: Sendable, Equatable {
  case openImage, exportPath, command
}

public enum Action: Sendable {
  case nextLayer, previousLayer, firstLayer, lastLayer
  case nextView, previousView
  case cycleMethod(Int)
  case adjustParameter(Int)
  case focusMethod(Int)
  case toggleCompare, toggleDifferences
  case cycleHead, cycleAttentionScale, toggleQuery
  case togglePlay, tick
  /// Play faster (+1) or slower (-1).
  case playSpeed(Int)
  case toggleHelp, helpPage(Int), escape
  case togglePlots
  /// Projector mode on or off.
  case toggleLarge
  /// Lesson mode: start at the first page, move by pages, leave.
  case startLesson, lessonStep(Int), endLesson
  /// Lesson mode: scroll the page's text by this many rows.
  case scrollLesson(Int)
  case moveCursor(dx: Int, dy: Int), clickPatch(row: Int, col: Int)
  /// Next/previous bundled sample image.
  case cycleImage(Int)
  /// The `o` prompt: open, edit (the whole text), submit, cancel.
  case openPrompt, editPrompt(String), submitPrompt, cancelPrompt
  /// The `:` command line: open it, complete its last word (Tab), walk its history (↑ -1, ↓ +1).
  case openCommandPrompt, completePrompt, historyStep(Int)
  /// A new image is loaded (from the worker): every method is recomputed on it.
  case imageOpened(ExplorerContext)
  /// Write the current view of the shown methods at the current layer as a PNG figure (`render`'s code), at the
  /// default path in the current directory.
  case export
  /// `e`: ask where to write the figure, the default path filled in.
  case openExportPrompt
  case quit
  case computed(MethodRun)
  case failed(spec: String, message: String)
  /// From the worker: a look-ahead it did not start, because the user asked for something since.
  case lookAheadDropped(String)
  case showMessage(String)
  /// `x`: drop or restore the cursor's token from the current layer on; `X`: rank every token of the layer.
  case toggleAblation, rankAblation
  /// From the worker: an ablation's effect, and a ranking's progress (the last one has every token).
  case ablated(spec: String, request: AblationRequest, summary: AblationSummary)
  case rankingProgress(AblationRanking)
  /// From the worker: dataset maps read (`:maps FILE`).
  case mapsLoaded(LoadedMaps)
}

public enum Effect: Equatable, Sendable {
  case compute(MethodSpec)
  /// Compute a run no one shows yet (ComputeAhead.swift); it answers `.computed`, or `.lookAheadDropped`.
  case computeAhead(MethodSpec)
  /// Load and preprocess this image on the worker; it answers `.imageOpened` or `.showMessage`.
  case openImage(String)
  /// Draw and write a figure on the worker; it answers `.showMessage`.
  case export(ExportRequest)
  /// Token ablation on the worker; it answers `.ablated`, or `.rankingProgress` for each ranked token.
  case ablate(MethodSpec, AblationRequest)
  case rankAblation(MethodSpec, layer: Int)
  /// Run the model at N x N pixels from now on, starting with the image at `path`; it answers `.imageOpened`.
  case setInputSize(path: String, size: Int)
  /// Read dataset maps on the worker; it answers `.mapsLoaded` or `.showMessage`.
  case loadMaps(String)
}

/// What `e` writes: the shown methods' maps at one layer, in the current view, as `tokenscope render` draws them.
public struct ExportRequest: Equatable, Sendable {
  public var path: String
  public var runs: [MethodRun]
  public var layer: Int
  public var view: FigureView
  public var image: PixelImage
  public var title: String
  /// A lesson page's title and text, written under the figure (a lesson page exported for a class).
  public var notes: String? = nil

  public static func == (a: ExportRequest, b: ExportRequest) -> Bool {
    a.path == b.path && a.layer == b.layer && a.view == b.view && a.runs.map(\.spec) == b.runs.map(\.spec)
  }
}

extension ExplorerState {
  /// The play speeds `<`/`>` step through, slowest first (ms per block).
  public static let playSpeeds = [2000, 1200, 600, 300, 150, 75]
}

/// The specs `m` cycles through: every registered method's presets.
public var methodPresets: [String] { MethodRegistry.presets }

/// Changes the state; returns the computations to start.
public func update(_ state: inout ExplorerState, _ action: Action) -> [Effect] {
  let depth = state.context.depth
  var effects: [Effect] = []
  switch action {
  case .tick, .computed, .failed, .lookAheadDropped, .showMessage, .imageOpened, .ablated, .rankingProgress, .mapsLoaded: break
  default: state.message = nil  // a key press dismisses the last message
  }
  switch action {
  case .nextLayer: state.layer = min(state.layer + 1, depth - 1)
  case .previousLayer: state.layer = max(state.layer - 1, 0)
  case .firstLayer: state.layer = 0
  case .lastLayer: state.layer = depth - 1
  case .nextView: state.view = state.view(steppedBy: 1)
  case .previousView: state.view = state.view(steppedBy: -1)
  case .cycleMethod(let step):
    if let spec = state.cycled(state.focusedSpec, by: step) { state.methods[state.focus] = spec }
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
  case .cycleAttentionScale: state.attentionScale = state.attentionScale.next
  case .toggleQuery:
    state.queryAtCursor.toggle()
    if state.queryAtCursor && state.cursor == nil {
      state.cursor = (row: state.context.grid.rows / 2, col: state.context.grid.cols / 2)
    }
  case .togglePlay: state.playing.toggle()
  case .playSpeed(let step):
    let speeds = ExplorerState.playSpeeds
    let i = speeds.firstIndex { $0 <= state.playIntervalMs } ?? speeds.count - 1
    state.playIntervalMs = speeds[min(max(i + step, 0), speeds.count - 1)]
    state.message = "playing at \(state.playIntervalMs) ms a block"
  case .tick:
    state.spinner += 1
    if state.playing { state.layer = state.layer + 1 < depth ? state.layer + 1 : 0 }
  case .toggleHelp: state.showHelp.toggle(); state.helpPage = 0
  case .togglePlots: state.showPlots.toggle()
  case .toggleLarge: state.large.toggle()
  case .startLesson:
    if state.lessonPage == nil { state.methodsBeforeLesson = state.methods }
    Lesson.apply(0, to: &state)
  case .lessonStep(let step):
    let page = (state.lessonPage ?? 0) + step
    if page >= 0 && page < Lesson.pages.count { Lesson.apply(page, to: &state) }
  case .endLesson: endLesson(&state)
  case .scrollLesson(let rows): state.lessonScroll = max(0, state.lessonScroll + rows)
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
  case .openPrompt: state.prompt = ""; state.promptKind = .openImage
  case .openExportPrompt:
    state.prompt = exportRequest(&state, path: nil)?.path
    state.promptKind = .exportPath
  case .editPrompt(let text): state.prompt = text
  case .cancelPrompt: state.prompt = nil; state.promptKind = .openImage
  case .openCommandPrompt:
    state.prompt = ""
    state.promptKind = .command
    state.historyIndex = nil
  case .completePrompt:
    if state.promptKind == .command, let text = state.prompt { state.prompt = ExplorerCommand.complete(text) }
  case .historyStep(let step):
    guard state.promptKind == .command, !state.commandHistory.isEmpty else { break }
    let n = state.commandHistory.count
    let index = min(max((state.historyIndex ?? n) + step, 0), n)
    state.historyIndex = index == n ? nil : index
    state.prompt = index == n ? "" : state.commandHistory[index]
  case .submitPrompt where state.promptKind == .command:
    let text = state.prompt ?? ""
    state.prompt = nil
    state.promptKind = .openImage
    guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { break }
    if state.commandHistory.last != text { state.commandHistory.append(text) }
    switch ExplorerCommand.parse(text, depth: depth) {
    case .success(let command): effects += apply(command, to: &state)
    case .failure(let error): state.message = error.message
    }
  case .submitPrompt where state.promptKind == .exportPath:
    let path = state.prompt ?? ""
    state.prompt = nil
    state.promptKind = .openImage
    if !path.isEmpty, let request = exportRequest(&state, path: path) {
      state.message = "writing \(request.path)"
      effects.append(.export(request))
    }
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
    state.runOrder = []
    state.errors = [:]
    state.pending = []
    state.lookingAhead = []
    state.cursor = nil
    state.ablation = nil
    state.ranking = nil
    state.message = "opened \(context.imageName)"
  case .export:
    if let request = exportRequest(&state, path: nil) {
      state.message = "writing \(request.path)"
      effects.append(.export(request))
    }
  case .quit: state.shouldQuit = true
  case .computed(let run):
    state.pending.remove(run.spec.canonical)
    state.lookingAhead.remove(run.spec.canonical)
    state.store(run)
  case .lookAheadDropped(let spec):
    // Started again below if it is on screen by now.
    state.pending.remove(spec)
    state.lookingAhead.remove(spec)
  case .failed(let spec, let message):
    state.pending.remove(spec)
    state.errors[spec] = message
    // A look-ahead's failure waits until its method is shown (the map panel says it then).
    if state.lookingAhead.remove(spec) == nil { state.message = message }
  case .showMessage(let text): state.message = text
  case .mapsLoaded(let loaded):
    state.datasetMaps = loaded
    state.showPlots = true
    let m = loaded.maps
    state.message = "read \(loaded.name): \(m.methods.count) methods, \(m.methods.first?.images ?? 0) images, grid \(m.grid); p leaves the plots"
  case .toggleAblation, .rankAblation, .ablated, .rankingProgress: effects += updateAttribution(&state, action)
  }
  state.promoteLookAheads()
  let computations = state.missingSpecs.map { Effect.compute($0) }
  for case .compute(let spec) in computations { state.pending.insert(spec.canonical) }
  return effects + computations + (state.nextLookAhead().map { [$0] } ?? [])
}

/// The figure `e` writes: the shown methods at the current layer in the current view, at `path` (nil: the default
/// name in the current directory; a path ending in "/" gets the default name; "~/" is the home directory). Nil, with
/// a message, while a shown method is still computing.
func exportRequest(_ state: inout ExplorerState, path: String?) -> ExportRequest? {
  let shown = state.compare ? state.methods : [state.focusedSpec]
  let runs = shown.compactMap { state.runs[$0.canonical] }
  guard runs.count == shown.count, !runs.isEmpty else { state.message = "still computing; export when the maps are drawn"; return nil }
  // The stage, pruning and counts panels are not token maps: they export as the status map.
  let view: FigureView = switch state.view {
  case .status, .stages, .pruning, .counts, .norms: .status
  case .score: .score
  case .roles: .roles
  case .image: .image
  case .groups: .groups
  case .attention: .attention
  case .clusters: .clusters
  case .relevance: .rollout
  case .ablation, .lens: .status
  }
  let base = (state.context.imageName.split(separator: "/").last.map(String.init) ?? "image")
    .split(separator: ".").first.map(String.init) ?? "image"
  let lesson = state.lessonPage.map { "-lesson\($0 + 1)" } ?? ""
  let name = "tokenscope-\(base)-block\(state.layer)-\(view.rawValue)\(lesson).png"
  var target = path ?? name
  if target.hasSuffix("/") { target += name }
  if target.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] { target = home + target.dropFirst() }
  let notes = state.lessonPage.map { i in
    "lesson \(i + 1)/\(Lesson.pages.count): \(Lesson.pages[i].title)\n" + Lesson.pages[i].text.replacingArrow()
  }
  return ExportRequest(path: target, runs: runs, layer: state.layer, view: view, image: state.context.image,
                       title: "\(state.context.modelName) on \(base), \(view.rawValue) view", notes: notes)
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
