// The terminal backend over ncurses, in a module of its own so that the TUI library (pure Swift, drawing into
// `Buffer`s) and everything built on it neither link nor import ncurses.
//
// ncurses is not thread-safe: create the backend, draw and read events from one thread only.
import CCurses
import Pixels
import TUI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the terminal could not be opened. The description is a single line, fit for stderr.
public enum TerminalError: Error, CustomStringConvertible, Equatable {
  /// `TERM` is unset or empty.
  case termNotSet
  /// Neither stdin/stdout nor /dev/tty is a terminal.
  case notATerminal
  /// ncurses refused the terminal type (unknown, or unable to address the cursor, e.g. `TERM=dumb`).
  case unsupportedTerminal(String)

  public var description: String {
    switch self {
    case .termNotSet:
      return "cannot start the terminal UI: TERM is not set (try TERM=xterm-256color)"
    case .notATerminal:
      return "cannot start the terminal UI: no terminal on stdin/stdout or /dev/tty"
    case let .unsupportedTerminal(name):
      return "cannot start the terminal UI: terminal type '\(name)' is unknown or cannot move the cursor"
    }
  }
}

/// The ncurses terminal backend: full-screen drawing with changed-cell flushing, colour pairs beyond 255, and
/// decoded keyboard and mouse input.
///
/// Setup: `setlocale(LC_ALL, "")` before `newterm` (else wide characters do not draw), raw mode (so Ctrl-C arrives as a key),
/// `noecho`, `keypad`, `nonl`, `set_escdelay(25)`, invisible cursor, `start_color` + `use_default_colors` only when
/// colour is used, and click + wheel mouse reporting unless disabled.
///
/// Colour pairs come from `alloc_pair` (extended pairs, thousands available on 256-colour terminals) and are always
/// passed as the separate `int` argument of `setcchar`, never through `COLOR_PAIR()`, which wraps past 255. When a
/// small pool fills up (63 pairs on plain `xterm`), only pairs no longer on screen are reused (`ColorPairPool`).
///
/// The terminal is restored by `restore()`, at exit (`atexit`), and on SIGINT/SIGTERM/SIGHUP by an
/// async-signal-safe handler (saved termios + terminfo reset strings written with `write(2)`, then `_exit(128+n)`).
public final class CursesBackend: TerminalBackend {
  /// How to open the terminal.
  public struct Options: Sendable {
    /// Forces a colour mode (clamped to what the terminal supports); nil detects it.
    public var colorMode: ColorMode?
    /// Reports clicks and wheel scrolling as `.mouse` events.
    public var mouse: Bool
    /// Forces ASCII (true) or Unicode (false) glyphs; nil follows the locale.
    public var ascii: Bool?
    /// Inline images: a protocol, none, or auto (the environment, then the device attributes query for sixel).
    public var graphics: GraphicsMode

    public init(colorMode: ColorMode? = nil, mouse: Bool = true, ascii: Bool? = nil, graphics: GraphicsMode = .none) {
      self.colorMode = colorMode
      self.mouse = mouse
      self.ascii = ascii
      self.graphics = graphics
    }
  }

  /// The colour mode in use (what widgets should be told, and what every colour is quantized to).
  public let colorMode: ColorMode
  /// The glyph table for this locale (or as forced).
  public let glyphs: Glyphs
  /// Glyphs and colour mode together, to hand to widgets.
  public var appearance: Appearance { Appearance(glyphs: glyphs, colorMode: colorMode) }
  public private(set) var size: Size

  private let screen: OpaquePointer
  private let window: UnsafeMutablePointer<WINDOW>
  private let inputFile: UnsafeMutablePointer<FILE>
  let outputFile: UnsafeMutablePointer<FILE>
  private let ownsTTY: Bool
  private let terminalUsesDefaultColors: Bool
  /// The last frame shown; nil forces a full redraw (first frame, after a resize).
  private var previousFrame: Buffer?
  /// Set by a resize: the next frame also clears the physical screen, which the terminal may have reflowed.
  private var needsClear = false
  /// Which pair shows which colours, and which pairs are on screen.
  private var pairs: ColorPairPool
  /// Cells drawn with stand-in colours because the pair pool was exhausted; retried on the next frame.
  private var approximatedCells: Set<Position> = []
  private var colorNumberCache: [Color: Int32] = [:]
  private var currentTimeout: Int = .min
  var isRestored = false
  /// The image protocol in use and what it writes; the images on screen, and whether text was drawn over them.
  public let graphics: GraphicsProtocol?
  var graphicsWriter: GraphicsWriter?
  var shownImages: [ImagePlacement] = []
  var imagesOverwritten = false

  /// Opens the terminal.
  /// - Throws: `TerminalError` (with a one-line description) when there is no usable terminal.
  public init(options: Options = Options()) throws {
    setlocale(LC_ALL, "")
    let codeset = nl_langinfo(nl_item(CODESET)).map { String(cString: $0) } ?? ""
    glyphs = Glyphs.detect(codeset: codeset, forceASCII: options.ascii)

    guard let termName = getenv("TERM").map({ String(cString: $0) }), !termName.isEmpty else {
      throw TerminalError.termNotSet
    }
    // Prefer stdin/stdout; fall back to /dev/tty so the UI still works with redirected output.
    let input: UnsafeMutablePointer<FILE>
    let output: UnsafeMutablePointer<FILE>
    if isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1,
      let stdinFile = fdopen(STDIN_FILENO, "r"), let stdoutFile = fdopen(STDOUT_FILENO, "w")
    {
      input = stdinFile
      output = stdoutFile
      ownsTTY = false
    } else if let tty = fopen("/dev/tty", "r+") {
      input = tty
      output = tty
      ownsTTY = true
    } else {
      throw TerminalError.notATerminal
    }
    let terminalFD = fileno(output)
    let hadTermios = tcgetattr(terminalFD, savedTermios) == 0
    (graphics, graphicsWriter) = CursesBackend.graphicsSetup(options.graphics, output: terminalFD, input: fileno(input))

    // The signal mask is inherited across exec: a parent that blocks SIGWINCH (test runners, some process managers,
    // and through them tmux panes) would leave ncurses deaf to resizes. Unblock it (and the signals that end or
    // suspend us) before ncurses installs its handler.
    var signals = sigset_t()
    sigemptyset(&signals)
    for signal in [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT] { sigaddset(&signals, signal) }
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)

    guard let newScreen = newterm(termName, output, input), let stdscrWindow = ts_stdscr() else {
      if ownsTTY { fclose(input) }
      throw TerminalError.unsupportedTerminal(termName)
    }
    // A terminal that cannot address the cursor (TERM=dumb, hardcopy) would get the whole screen streamed as text.
    guard let cursorAddress = tigetstr("cup"), Int(bitPattern: cursorAddress) != -1 else {
      endwin()
      delscreen(newScreen)
      if ownsTTY { fclose(input) }
      throw TerminalError.unsupportedTerminal(termName)
    }
    screen = newScreen
    window = stdscrWindow
    inputFile = input
    outputFile = output

    raw()  // Ctrl-C arrives as 0x03 and becomes .ctrlC; the app decides how to quit.
    noecho()
    nonl()
    keypad(window, true)
    // Home/End arrive as different sequences depending on the terminal (xterm's application mode, VT220/tmux
    // "\e[1~", rxvt "\e[7~"), often not the one TERM's terminfo names. Teach ncurses the common ones so Home/End
    // never degrade into Esc followed by stray characters.
    for (sequence, key) in [
      ("\u{1B}[1~", KEY_HOME), ("\u{1B}[7~", KEY_HOME), ("\u{1B}[H", KEY_HOME), ("\u{1B}OH", KEY_HOME),
      ("\u{1B}[4~", KEY_END), ("\u{1B}[8~", KEY_END), ("\u{1B}[F", KEY_END), ("\u{1B}OF", KEY_END),
    ] where key_defined(sequence) == 0 {
      define_key(sequence, key)
    }
    set_escdelay(25)
    curs_set(0)

    // Colour: detect from terminfo before start_color, so that NO_COLOR/monochrome never emits colour sequences.
    var environment: [String: String] = [:]
    for name in ["NO_COLOR", "COLORTERM"] {
      if let value = getenv(name) { environment[name] = String(cString: value) }
    }
    let terminfoColors = Int(tigetnum("colors"))
    colorMode = ColorMode.detect(
      override: options.colorMode, environment: environment, hasColors: has_colors(),
      colorCount: max(terminfoColors, 0))
    if colorMode.usesColor {
      start_color()
      terminalUsesDefaultColors = use_default_colors() == OK
      pairs = ColorPairPool(capacity: Int(ts_color_pairs()) - 1)
    } else {
      terminalUsesDefaultColors = false
      pairs = ColorPairPool(capacity: 0)
    }

    if options.mouse {
      mousemask(CursesBackend.clickButtonStates | CursesBackend.wheelUpButtonState | CursesBackend.wheelDownButtonState, nil)
      mouseinterval(0)  // report releases at once instead of waiting to synthesise clicks
    }

    size = Size(width: Int(getmaxx(window)), height: Int(getmaxy(window)))
    installTerminalRestore(fd: terminalFD, hadTermios: hadTermios, mouse: options.mouse && has_mouse())
  }

  deinit {
    restore()
  }

  // MARK: Drawing

  public func draw(_ buffer: Buffer) {
    guard !isRestored else { return }
    let previous = previousFrame.flatMap {
      $0.area == buffer.area && pairs.tracksScreen(width: size.width, height: size.height) ? $0 : nil
    }
    if previous == nil {
      // First frame, a resize, or a new frame geometry: start from a blank screen and redraw every cell.
      if needsClear { wclear(window) } else { werase(window) }
      needsClear = false
      pairs.screenWasErased(width: size.width, height: size.height)
      approximatedCells = []
    }
    let changes = previous.map { buffer.diff(from: $0) } ?? buffer.diff(from: Buffer(area: Rect(x: 0, y: 0, width: 0, height: 0)))
    var starved: [Buffer.Change] = []
    var written = Set<Position>()
    if previous == nil { imagesOverwritten = true }
    for change in changes where change.x >= 0 && change.y >= 0 && change.x < size.width && change.y < size.height {
      written.insert(Position(x: change.x, y: change.y))
      if !imagesOverwritten && graphics != .kitty && shownImages.contains(where: { $0.cells.contains(x: change.x, y: change.y) }) { imagesOverwritten = true }
      if !write(change) { starved.append(change) }
    }
    // Cells that got stand-in colours in an earlier frame deserve another try even if they did not change.
    for position in approximatedCells where !written.contains(position) && buffer.area.contains(x: position.x, y: position.y)
      && position.x < size.width && position.y < size.height && !buffer[position.x, position.y].isContinuation
    {
      starved.append(Buffer.Change(x: position.x, y: position.y, cell: buffer[position.x, position.y]))
    }
    // With a small pool (63 pairs on plain xterm), a frame that changes many colours can run out of pairs while the
    // cells it has not reached yet still hold the previous frame's pairs. Those are idle now: try again.
    approximatedCells = []
    for change in starved where !write(change) {
      approximatedCells.insert(Position(x: change.x, y: change.y))
    }
    previousFrame = buffer
    wrefresh(window)
  }

  /// Draws one changed cell.
  /// - Returns: false when no pair with the cell's colours was available and a stand-in was used.
  private func write(_ change: Buffer.Change) -> Bool {
    var cell = change.cell
    // A wide character needs both columns on screen; at the right edge it would wrap or be dropped.
    if cell.width == 2 && change.x + 1 >= size.width { cell.symbol = " " }
    // A blank cell without underline or reverse shows only its background, so any pair with that background will do.
    let showsOnlyBackground = cell.symbol == " " && !cell.style.underline && !cell.style.reverse
    let (pair, isExact) = colorPair(for: cell.style, showsOnlyBackground: showsOnlyBackground)
    for column in change.x..<(change.x + cell.width) { pairs.record(pair, x: column, y: change.y) }
    put(cell, pair: pair, x: change.x, y: change.y)
    return isExact
  }

  private func put(_ cell: Cell, pair: Int32, x: Int, y: Int) {
    var characters: [wchar_t] = cell.symbol.unicodeScalars.prefix(Int(CCHARW_MAX)).map { wchar_t(bitPattern: $0.value) }
    if let first = characters.first, first < 0x20 || first == 0x7F {
      characters = [wchar_t(0x20)]  // control characters would move the cursor
    }
    if characters.isEmpty { characters = [wchar_t(0x20)] }
    characters.append(0)
    var attributes = ts_a_normal()
    if cell.style.bold { attributes |= ts_a_bold() }
    if cell.style.dim { attributes |= ts_a_dim() }
    if cell.style.reverse { attributes |= ts_a_reverse() }
    if cell.style.underline { attributes |= ts_a_underline() }
    var pairNumber = pair
    var character = cchar_t()
    // The pair goes through the `opts` pointer (extended pairs), the short argument stays 0.
    if setcchar(&character, characters, attributes, 0, &pairNumber) != OK {
      var fallback: [wchar_t] = [wchar_t(0x3F), 0]  // "?"
      setcchar(&character, &fallback, attributes, 0, &pairNumber)
    }
    mvwadd_wch(window, Int32(y), Int32(x), &character)
  }

  /// The colour pair for a style, allocated on first use (see `ColorPairPool` for what happens when the pool is
  /// full: 63 usable pairs on plain `xterm`, 65 535 on `xterm-256color`).
  private func colorPair(for style: Style, showsOnlyBackground: Bool) -> (pair: Int32, isExact: Bool) {
    guard colorMode.usesColor else { return (0, true) }
    let key = ColorPairKey(
      foreground: colorNumber(for: style.fg, isForeground: true),
      background: colorNumber(for: style.bg, isForeground: false))
    return pairs.pair(
      for: key, showsOnlyBackground: showsOnlyBackground,
      allocate: { alloc_pair($0.foreground, $0.background) },
      redefine: { init_extended_pair($0, $1.foreground, $1.background) == OK })
  }

  /// The ncurses colour number for a colour, quantized to `colorMode`: -1 for the default colour (or white/black
  /// when the terminal cannot keep its defaults), a palette index, or a packed RGB value on direct-colour terminals.
  /// Cached, because a heat map asks for the same few hundred colours every frame and the 256-colour search is not
  /// free.
  private func colorNumber(for color: Color, isForeground: Bool) -> Int32 {
    if color == .default {
      return terminalUsesDefaultColors ? -1 : (isForeground ? Int32(COLOR_WHITE) : Int32(COLOR_BLACK))
    }
    if let cached = colorNumberCache[color] { return cached }
    let number: Int32
    switch quantize(color, to: colorMode) {
    case .default:
      return terminalUsesDefaultColors ? -1 : (isForeground ? Int32(COLOR_WHITE) : Int32(COLOR_BLACK))
    case let .indexed(index) where colorMode != .truecolor || index < 8:
      number = Int32(index)
    case let quantized:
      // Direct colour: the number is 0xRRGGBB, except that values below 8 select the ANSI palette (xterm-direct
      // `setaf`). Nudging those near-blacks to red=1 keeps them RGB.
      let rgb = quantized.rgbValue ?? RGB(0, 0, 0)
      var packed = Int32(rgb.r) << 16 | Int32(rgb.g) << 8 | Int32(rgb.b)
      if packed < 8 { packed |= 0x01_0000 }
      number = packed
    }
    colorNumberCache[color] = number
    return number
  }

  // MARK: Input

  public func readEvent(timeoutMs: Int) -> InputEvent? {
    guard !isRestored else { return nil }
    if timeoutMs != currentTimeout {
      wtimeout(window, Int32(clamping: timeoutMs < 0 ? -1 : timeoutMs))
      currentTimeout = timeoutMs
    }
    var character: wint_t = 0
    let status = wget_wch(window, &character)
    switch status {
    case OK:
      return CursesBackend.decodeCharacter(UInt32(character))
    case KEY_CODE_YES:
      return decodeKey(Int32(bitPattern: UInt32(character)))
    default:
      return nil
    }
  }

  private func decodeKey(_ code: Int32) -> InputEvent? {
    switch code {
    case KEY_RESIZE:
      size = Size(width: Int(getmaxx(window)), height: Int(getmaxy(window)))
      previousFrame = nil
      needsClear = true  // the terminal may have reflowed the old screen: clear it physically
      return .resize(width: size.width, height: size.height)
    case KEY_MOUSE:
      var event = MEVENT()
      guard getmouse(&event) == OK else { return nil }
      return CursesBackend.decodeMouse(x: Int(event.x), y: Int(event.y), buttonState: event.bstate)
    default:
      return CursesBackend.decodeKeyCode(code)
    }
  }

  /// A character read by `wget_wch` as an event: control characters with a meaning get their own case.
  static func decodeCharacter(_ value: UInt32) -> InputEvent? {
    switch value {
    case 0x03: return .ctrlC
    case 0x09: return .tab
    case 0x0A, 0x0D: return .enter
    case 0x1B: return .escape
    case 0x08, 0x7F: return .backspace
    default:
      guard let scalar = Unicode.Scalar(value) else { return nil }
      return .char(Character(scalar))
    }
  }

  /// A function-key code (`KEY_*`) as an event; nil for keys the UI does not use.
  static func decodeKeyCode(_ code: Int32) -> InputEvent? {
    switch code {
    case KEY_UP: return .up
    case KEY_DOWN: return .down
    case KEY_LEFT: return .left
    case KEY_RIGHT: return .right
    case KEY_SLEFT: return .shiftLeft
    case KEY_SRIGHT: return .shiftRight
    case KEY_SR: return .shiftUp
    case KEY_SF: return .shiftDown
    case KEY_HOME: return .home
    case KEY_END: return .end
    case KEY_PPAGE: return .pageUp
    case KEY_NPAGE: return .pageDown
    case KEY_BTAB: return .backTab
    case KEY_ENTER: return .enter
    case KEY_BACKSPACE: return .backspace
    case KEY_DC: return .delete
    case ts_key_f(1)...ts_key_f(63): return .function(Int(code - ts_key_f(0)))
    default: return nil
    }
  }

  /// Button states reported as a click: a release (with `mouseinterval(0)`) or a synthesised click.
  static var clickButtonStates: mmask_t { ts_button1_released() | ts_button1_clicked() }
  static var wheelUpButtonState: mmask_t { ts_button4_pressed() }
  static var wheelDownButtonState: mmask_t { ts_button5_pressed() }

  /// A mouse report as an event; nil for buttons and motions the UI does not use.
  static func decodeMouse(x: Int, y: Int, buttonState: mmask_t) -> InputEvent? {
    if buttonState & clickButtonStates != 0 { return .mouse(x: x, y: y, kind: .click) }
    if buttonState & wheelUpButtonState != 0 { return .mouse(x: x, y: y, kind: .wheelUp) }
    if buttonState & wheelDownButtonState != 0 { return .mouse(x: x, y: y, kind: .wheelDown) }
    return nil
  }

  // MARK: Restoring

  public func restore() {
    guard !isRestored else { return }
    if graphics == .kitty && !shownImages.isEmpty, let writer = graphicsWriter { writeBytes(writer.frame([])) }
    isRestored = true
    for signalNumber in handledSignals { signal(signalNumber, SIG_DFL) }
    terminalRestoreIsArmed = false
    endwin()
    delscreen(screen)
    fflush(outputFile)
    if ownsTTY { fclose(inputFile) }
  }
}

// MARK: - Restoring the terminal from signal handlers and atexit
//
// A signal handler may only call async-signal-safe functions, which rules out endwin(). Instead everything the
// handler needs is prepared up front in plain global storage: the terminal modes saved before ncurses changed
// them, and the terminfo strings that leave the alternate screen, show the cursor, reset attributes and keypad
// mode, and stop mouse reporting. The handler restores the modes with tcsetattr(), writes the strings with
// write(), and leaves with _exit(128 + signal), as a shell expects.

private let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
private let resetCapacity = 256

// Heap storage (60 bytes), not a global `termios`: under AddressSanitizer, tcgetattr's write into the global was
// reported as a 3-byte overflow past a 57-byte object, into the flag stored after it.
nonisolated(unsafe) private let savedTermios: UnsafeMutablePointer<termios> = {
  let p = UnsafeMutablePointer<termios>.allocate(capacity: 1)
  p.initialize(to: termios())
  return p
}()
nonisolated(unsafe) private var savedTermiosIsValid = false
nonisolated(unsafe) private var restoreFD: Int32 = -1
nonisolated(unsafe) private var resetBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: resetCapacity)
nonisolated(unsafe) private var resetLength = 0
nonisolated(unsafe) private var terminalRestoreIsArmed = false
nonisolated(unsafe) private var atexitInstalled = false

/// Prepares the signal/atexit restore path for the terminal just opened.
private func installTerminalRestore(fd: Int32, hadTermios: Bool, mouse: Bool) {
  restoreFD = fd
  savedTermiosIsValid = hadTermios
  var sequence: [UInt8] = []
  if mouse { sequence += Array("\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1006l".utf8) }
  for capability in ["sgr0", "cnorm", "rmkx", "rmcup"] {
    sequence += terminfoString(capability)
  }
  // Without an alternate screen (vt100) the UI stays on screen: at least put the shell's prompt below it, as endwin
  // does. "CSI 999;1 H" clamps to the last row on every ANSI terminal, so only use it when `cup` is ANSI.
  if terminfoString("rmcup").isEmpty, terminfoString("cup").starts(with: Array("\u{1B}[".utf8)) {
    sequence += Array("\u{1B}[999;1H\r\n".utf8)
  }
  resetLength = min(sequence.count, resetCapacity)
  for (index, byte) in sequence.prefix(resetLength).enumerated() { resetBytes[index] = byte }
  terminalRestoreIsArmed = true
  for signalNumber in handledSignals {
    signal(signalNumber, restoreTerminalAndExit)
  }
  if !atexitInstalled {
    atexitInstalled = true
    atexit(restoreTerminalAtExit)
  }
}

/// A terminfo string capability without its `$<…>` padding markers (which a real tputs would turn into delays).
private func terminfoString(_ name: String) -> [UInt8] {
  guard let pointer = tigetstr(name), Int(bitPattern: pointer) != -1 else { return [] }
  var bytes: [UInt8] = []
  var inPadding = false
  var previous: UInt8 = 0
  // Raw bytes up to the NUL: terminfo strings are byte sequences, not necessarily valid UTF-8.
  let raw = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
  for byte in raw {
    if inPadding {
      if byte == UInt8(ascii: ">") { inPadding = false }
    } else if byte == UInt8(ascii: "<") && previous == UInt8(ascii: "$") {
      bytes.removeLast()
      inPadding = true
    } else {
      bytes.append(byte)
    }
    previous = byte
  }
  return bytes
}

/// The SIGINT/SIGTERM/SIGHUP handler: async-signal-safe calls only.
private func restoreTerminalAndExit(_ signalNumber: Int32) {
  if terminalRestoreIsArmed {
    terminalRestoreIsArmed = false
    if resetLength > 0 { _ = write(restoreFD, resetBytes, resetLength) }
    if savedTermiosIsValid { tcsetattr(restoreFD, TCSANOW, savedTermios) }
  }
  _exit(128 + signalNumber)
}

/// Runs at normal process exit: leaves curses mode if the app forgot to call `restore()`.
private func restoreTerminalAtExit() {
  guard terminalRestoreIsArmed else { return }
  terminalRestoreIsArmed = false
  endwin()
}
