/// The terminal as the app loop sees it: a size, a way to show a frame, and a stream of input events.
///
/// `CursesBackend` implements it over ncurses; `TestBackend` records frames and replays scripted events, so the
/// loop can be tested without a terminal.
public protocol TerminalBackend {
  /// The current size in cells.
  var size: Size { get }

  /// Shows `buffer`. Implementations redraw only cells that changed since the previous frame (everything after a
  /// resize); cells outside the terminal are ignored.
  mutating func draw(_ buffer: Buffer)

  /// Waits up to `timeoutMs` milliseconds (negative: forever, 0: poll) for an input event.
  /// - Returns: the event, or nil when none arrived in time (or the input was something the backend ignores).
  mutating func readEvent(timeoutMs: Int) -> InputEvent?

  /// Gives the terminal back to the shell. Safe to call more than once.
  mutating func restore()

  /// The inline-image protocol in use, nil for text only (Graphics.swift gives the default: nil).
  var graphics: GraphicsProtocol? { get }

  /// Shows `images` over the frame last drawn (replacing the previous ones); a text-only backend ignores them.
  mutating func show(_ images: [ImagePlacement])
}

extension TerminalBackend {
  /// Renders one frame at the current size with `render` and shows it.
  /// - Returns: the frame that was drawn.
  @discardableResult
  public mutating func drawFrame(_ render: (inout Buffer) -> Void) -> Buffer {
    var buffer = Buffer(size: size)
    render(&buffer)
    draw(buffer)
    return buffer
  }
}

extension TerminalBackend where Self: AnyObject {
  /// Renders one frame at the current size with `render` and shows it (for class backends held in a `let`).
  /// - Returns: the frame that was drawn.
  @discardableResult
  public func drawFrame(_ render: (inout Buffer) -> Void) -> Buffer {
    var buffer = Buffer(size: size)
    render(&buffer)
    var backend = self
    backend.draw(buffer)
    return buffer
  }
}

/// A terminal stand-in for tests: records every frame, replays queued input events, and reports how many cells each
/// frame changed (what a real backend would have flushed).
public struct TestBackend: TerminalBackend {
  public private(set) var size: Size
  /// Every frame drawn, in order.
  public private(set) var frames: [Buffer] = []
  /// For each frame, the number of cells a diffing backend would have written.
  public private(set) var changedCellCounts: [Int] = []
  /// Events still to be returned by `readEvent`, first first.
  public var pendingEvents: [InputEvent]
  /// How many times `readEvent` was called (each call that finds no event is one timeout).
  public private(set) var readCount = 0
  public private(set) var isRestored = false
  /// The protocol the test pretends the terminal speaks, and every set of images shown, in order.
  public var graphics: GraphicsProtocol? = nil
  public private(set) var shownImages: [[ImagePlacement]] = []

  public init(size: Size, events: [InputEvent] = []) {
    self.size = size
    self.pendingEvents = events
  }

  /// The most recent frame.
  public var lastFrame: Buffer? { frames.last }

  /// Changes the size and queues the `.resize` event a terminal would send.
  public mutating func resize(to newSize: Size) {
    size = newSize
    pendingEvents.append(.resize(width: newSize.width, height: newSize.height))
  }

  public mutating func draw(_ buffer: Buffer) {
    let visible = Rect(size: size)
    let changes: [Buffer.Change]
    if let previous = frames.last, previous.area == buffer.area {
      changes = buffer.diff(from: previous)
    } else {
      changes = buffer.diff(from: Buffer(area: Rect(x: 0, y: 0, width: 0, height: 0)))
    }
    changedCellCounts.append(changes.filter { visible.contains(x: $0.x, y: $0.y) }.count)
    frames.append(buffer)
  }

  public mutating func readEvent(timeoutMs: Int) -> InputEvent? {
    readCount += 1
    return pendingEvents.isEmpty ? nil : pendingEvents.removeFirst()
  }

  public mutating func restore() { isRestored = true }

  public mutating func show(_ images: [ImagePlacement]) { shownImages.append(images) }
}
