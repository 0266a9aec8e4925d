// The run loop: read an input event (with a short timeout, so animations and finished computations show up), turn it
// into an action, update the state, start any computations on the worker, draw. The engine runs only on the worker;
// the UI thread reads immutable MethodRun snapshots.
import Dispatch
import Figures
import Foundation
import ImageInput
import Pixels
import TokenMethods
import TUI
import ViTEngine

/// Computes method runs off the UI thread and hands back actions.
public final class Worker: @unchecked Sendable {
  /// Loads and preprocesses an image for the model (the CLI supplies it; the explorer knows no file formats).
  public typealias ImageOpener = @Sendable (String) throws -> (ExplorerContext, ModelImage)
  /// Loads an image for the model run at N x N pixels (`:size N`).
  public typealias InputSizer = @Sendable (String, Int) throws -> (ExplorerContext, ModelImage)

  private let model: ViTModel
  /// Read and written only on `queue`, so a computation always sees the image that was current when it was queued.
  private var input: ModelImage
  private let opener: ImageOpener?
  private let sizer: InputSizer?
  /// The input size set by `:size`, for every image opened after it (read and written only on `queue`).
  private var inputSize: Int? = nil
  private let queue = DispatchQueue(label: "tokenscope.worker")
  private let lock = NSLock()
  private var finished: [Action] = []
  /// Effects other than look-aheads queued and not finished (under `lock`): a look-ahead gives way to them.
  private var foreground = 0

  public init(model: ViTModel, input: ModelImage, opener: ImageOpener? = nil, sizer: InputSizer? = nil) {
    self.model = model; self.input = input; self.opener = opener; self.sizer = sizer
  }

  public func start(_ effect: Effect) {
    let ahead: Bool
    if case .computeAhead = effect { ahead = true } else { ahead = false }
    if !ahead { lock.withLock { foreground += 1 } }
    queue.async { [self] in
      let action: Action
      switch effect {
      case .computeAhead(let spec):
        action = lock.withLock({ foreground > 0 }) ? .lookAheadDropped(spec.canonical) : run(spec)
      case .compute(let spec):
        action = run(spec)
      case .setInputSize(let path, let size):
        guard let sizer else { action = .showMessage("changing the input size is not available here"); break }
        do {
          let (context, newInput) = try sizer(path, size)
          input = newInput
          inputSize = size
          action = .imageOpened(context)
        } catch {
          action = .showMessage("cannot run at \(size) px: \(error)")
        }
      case .openImage(let path):
        guard let opener else { action = .showMessage("opening images is not available here"); break }
        do {
          let (context, newInput) = if let size = inputSize, let sizer { try sizer(path, size) } else { try opener(path) }
          input = newInput
          action = .imageOpened(context)
        } catch {
          action = .showMessage("cannot open \(path): \(error)")
        }
      case .loadMaps(let path):
        do { action = .mapsLoaded(LoadedMaps(path: DatasetMaps.file(for: path), maps: try DatasetMaps.read(path: path))) } catch { action = .showMessage("\(error)") }
      case .export(let request):
        action = Worker.export(request)
      case .ablate(let spec, let request):
        action = Worker.ablate(spec, request, model: model, input: input)
      case .rankAblation(let spec, let layer):
        action = Worker.rank(spec, layer: layer, model: model, input: input) { progress in lock.withLock { finished.append(progress) } }
      }
      lock.withLock {
        finished.append(action)
        if !ahead { foreground -= 1 }
      }
    }
  }

  /// The run of `spec` on the current image. Plans are cheap except UP-ViT's pruning, which a recompute of the same
  /// spec repeats (a few ms on the bundled model).
  private func run(_ spec: MethodSpec) -> Action {
    do { return .computed(try input.methodRun(try MethodPlan(spec: spec, model: model))) } catch {
      return .failed(spec: spec.canonical, message: "\(error)")
    }
  }

  /// Draws the figure of `request` and writes it atomically.
  static func export(_ request: ExportRequest) -> Action {
    let image = request.image
    let grid = request.runs[0].grid  // each row is painted on its own run's grid
    let painter = TokenMapPainter(input: image, grid: (grid.rows, grid.cols), scale: max(1, (112 + image.width - 1) / max(1, image.width)))
    let figure = TokenFigure(painter: painter, runs: request.runs, layers: [request.layer], view: request.view, title: request.title)
    do {
      let canvas = request.notes.map { withNotes(figure.raster(), $0) } ?? figure.raster()
      try AtomicFile.write(try canvas.png(), to: request.path)
      return .showMessage("wrote \(request.path) (\(canvas.width)x\(canvas.height))")
    } catch {
      return .showMessage("cannot write \(request.path): \(error)")
    }
  }

  /// `figure` with `notes` under it: the first line as a heading, the rest wrapped to the figure's width (at least
  /// 60 characters).
  static func withNotes(_ figure: Canvas, _ notes: String) -> Canvas {
    let margin = 12, line = Canvas.lineHeight + 3
    let columns = max(60, (figure.width - 2 * margin) / max(1, Canvas.textWidth("m")))
    let parts = notes.split(separator: "\n", maxSplits: 1).map(String.init)
    var rows = [parts[0], ""]
    var current = ""
    for word in (parts.count > 1 ? parts[1] : "").split(separator: " ") {
      if !current.isEmpty && current.count + 1 + word.count > columns { rows.append(current); current = "" }
      current += (current.isEmpty ? "" : " ") + word
    }
    if !current.isEmpty { rows.append(current) }
    let width = max(figure.width, 2 * margin + Canvas.textWidth(String(repeating: "m", count: columns)))
    var out = Canvas(width: width, height: figure.height + rows.count * line + margin)
    out.draw(figure, x: 0, y: 0)
    for (i, row) in rows.enumerated() {
      _ = out.text(row, x: margin, y: figure.height + i * line, color: i == 0 ? RGB(0, 0, 0) : RGB(60, 60, 60))
    }
    return out
  }

  /// Results that arrived since the last call.
  public func drain() -> [Action] { lock.withLock { defer { finished = [] }; return finished } }

  /// Blocks until every started computation has finished (tests and non-interactive use).
  public func waitUntilIdle() { queue.sync {} }
}

/// Maps a key or mouse event to an action (nil: ignored).
public func action(for event: InputEvent, state: ExplorerState, map: MapGeometry? = nil) -> Action? {
  if let prompt = state.prompt {
    switch event {
    case .char(let c) where !c.isNewline && c.asciiValue.map({ $0 >= 32 }) ?? true: return .editPrompt(prompt + String(c))
    case .backspace, .delete: return .editPrompt(String(prompt.dropLast()))
    case .enter: return .submitPrompt
    case .escape: return .cancelPrompt
    case .tab: return .completePrompt
    case .up: return .historyStep(-1)
    case .down: return .historyStep(1)
    case .ctrlC: return .quit
    default: return nil
    }
  }
  if state.showHelp {
    switch event {
    case .escape, .char("?"), .function(1): return .toggleHelp
    case .pageDown, .down, .char(" "): return .helpPage(1)
    case .pageUp, .up: return .helpPage(-1)
    case .char("q"), .ctrlC: return .quit
    default: return nil
    }
  }
  if state.lessonPage != nil {
    switch event {
    case .char("]"), .enter: return .lessonStep(1)
    case .char("["): return .lessonStep(-1)
    case .pageDown: return .scrollLesson(ExplorerApp.lessonScrollStep)
    case .pageUp: return .scrollLesson(-ExplorerApp.lessonScrollStep)
    case .mouse(_, _, .wheelDown): return .scrollLesson(1)
    case .mouse(_, _, .wheelUp): return .scrollLesson(-1)
    case .char("t"): return .endLesson
    default: break  // every other key works as usual
    }
  }
  if case .char(let c) = event, let bound = state.keyBindings[c] { return bound.action }
  switch event {
  case .right, .char("l"): return .nextLayer
  case .left, .char("h"): return .previousLayer
  case .home, .char("g"): return .firstLayer
  case .end, .char("G"): return .lastLayer
  case .tab: return .nextView
  case .backTab: return .previousView
  case .char("m"): return .cycleMethod(1)
  case .char("M"): return .cycleMethod(-1)
  case .char("+"), .char("="): return .adjustParameter(1)
  case .char("-"), .char("_"): return .adjustParameter(-1)
  case .char("n"): return .cycleImage(1)
  case .char("N"): return .cycleImage(-1)
  case .char("o"): return .openPrompt
  case .char(":"): return .openCommandPrompt
  case .char("P"): return .toggleLarge
  case .char("e"): return .openExportPrompt
  case .char("p"): return .togglePlots
  case .char("t"): return .startLesson
  case .char("c"): return .toggleCompare
  case .char("d"): return .toggleDifferences
  case .char("a"): return .cycleHead
  case .char("x"): return .toggleAblation
  case .char("X"): return .rankAblation
  case .char("s"): return .cycleAttentionScale
  case .char("A"): return .toggleQuery
  case .char(" "): return .togglePlay
  case .char(">"), .char("."): return .playSpeed(1)
  case .char("<"), .char(","): return .playSpeed(-1)
  case .char("?"), .function(1): return .toggleHelp
  case .escape: return .escape
  // The patch cursor: Shift turns the layer keys (←/→, h/l) into cursor keys; ↑/↓ and j/k move it vertically.
  case .char("j"), .down, .shiftDown: return .moveCursor(dx: 0, dy: 1)
  case .char("k"), .up, .shiftUp: return .moveCursor(dx: 0, dy: -1)
  case .char("H"), .shiftLeft: return .moveCursor(dx: -1, dy: 0)
  case .char("L"), .shiftRight: return .moveCursor(dx: 1, dy: 0)
  case .char("q"), .ctrlC: return .quit
  case .char(let c) where c.isNumber: return Int(String(c)).map { .focusMethod($0 - 1) }
  case .mouse(let x, let y, .click):
    guard let patch = map?.patch(atX: x, y: y) else { return nil }
    return .clickPatch(row: patch.row, col: patch.col)
  default: return nil
  }
}

public struct ExplorerApp {
  public var state: ExplorerState
  public let worker: Worker
  public let appearance: Appearance

  public init(state: ExplorerState, worker: Worker, appearance: Appearance) {
    self.state = state; self.worker = worker; self.appearance = appearance
  }

  /// Starts the computations the initial state needs.
  public mutating func start() {
    for effect in update(&state, .tick) { worker.start(effect) }
  }

  /// Rows PgDn/PgUp scroll the lesson text.
  static let lessonScrollStep = 3

  public mutating func send(_ action: Action) {
    for effect in update(&state, action) { worker.start(effect) }
  }

  /// `send`, then the lesson's scroll clamped to what the window shows, so that PgUp answers at once after PgDn
  /// went past the end.
  public mutating func send(_ action: Action, size: Size) {
    send(action)
    state.lessonScroll = min(state.lessonScroll, ExplorerScreen.lessonScrollLimit(state: state, size: size))
  }

  public func frame(size: Size) -> Buffer {
    var buffer = Buffer(size: size)
    ExplorerScreen(state: state, appearance: appearance).render(into: &buffer)
    return buffer
  }

  /// Runs until quit. Draws only when something changed; ticks every 50 ms while busy or playing.
  public mutating func run<B: TerminalBackend>(backend: inout B) {
    start()
    var dirty = true
    var lastTick = DispatchTime.now().uptimeNanoseconds
    while !state.shouldQuit {
      for result in worker.drain() { send(result); dirty = true }
      if dirty {
        backend.draw(frame(size: backend.size))
        // Real pixels over the maps, where the terminal shows images.
        if backend.graphics != nil {
          backend.show(ExplorerScreen(state: state, appearance: appearance).imagePlacements(size: backend.size, color: appearance.usesColor))
        }
        dirty = false
      }
      let animating = state.isBusy || state.playing
      if let event = backend.readEvent(timeoutMs: animating ? 50 : 200) {
        if case .resize = event { dirty = true; continue }
        let map = ExplorerScreen.focusedMapGeometry(state: state, size: backend.size, color: appearance.usesColor)
        if let a = action(for: event, state: state, map: map) { send(a, size: backend.size); dirty = true }
      }
      let now = DispatchTime.now().uptimeNanoseconds
      let period: UInt64 = state.playing ? UInt64(state.playIntervalMs) * 1_000_000 : 100_000_000
      if animating, now - lastTick >= period { send(.tick); lastTick = now; dirty = true }
    }
  }
}
