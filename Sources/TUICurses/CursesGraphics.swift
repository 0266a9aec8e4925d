// Inline images over the curses frame: which protocol (forced, or from the environment and the terminal's answer to
// the device attributes query), the cell size in pixels, and writing GraphicsWriter's bytes behind ncurses' back,
// with the cursor saved and restored around them so ncurses' idea of the cursor stays true.
import CCurses
import TUI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CursesBackend {
  /// The protocol for `mode` on the terminal written at `output` and read at `input`, and its writer sized to the
  /// terminal's cells.
  static func graphicsSetup(_ mode: GraphicsMode, output fd: Int32, input: Int32) -> (GraphicsProtocol?, GraphicsWriter?) {
    guard mode != .none else { return (nil, nil) }
    var environment: [String: String] = [:]
    for name in ["TERM", "TERM_PROGRAM", "KITTY_WINDOW_ID", "TMUX", "LC_TERMINAL"] {
      if let value = getenv(name) { environment[name] = String(cString: value) }
    }
    // Only an xterm-like terminal that the environment did not name is asked (and never inside tmux or screen,
    // which answer for themselves).
    let ask = mode == .auto && GraphicsProtocol.detect(environment: environment) == nil
      && (environment["TERM"] ?? "").hasPrefix("xterm") && environment["TMUX"] == nil
    let answer = ask ? queryDeviceAttributes(output: fd, input: input) : nil
    guard let graphics = mode.resolve(environment: environment, deviceAttributes: answer) else { return (nil, nil) }
    var size = winsize()
    var cell = (width: 10, height: 20)
    if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0, size.ws_xpixel > 0, size.ws_ypixel > 0 {
      cell = (Int(size.ws_xpixel) / Int(size.ws_col), Int(size.ws_ypixel) / Int(size.ws_row))
    }
    // A protocol forced inside tmux goes through its passthrough (auto never chooses one there).
    return (graphics, GraphicsWriter(graphics: graphics, cellWidth: cell.width, cellHeight: cell.height,
                                     tmuxPassthrough: environment["TMUX"] != nil))
  }

  /// Sends `CSI c` and reads the answer for up to 200 ms, in raw mode, before ncurses owns the terminal.
  static func queryDeviceAttributes(output fd: Int32, input: Int32) -> String? {
    var saved = termios()
    guard tcgetattr(input, &saved) == 0 else { return nil }
    var raw = saved
    cfmakeraw(&raw)
    guard tcsetattr(input, TCSANOW, &raw) == 0 else { return nil }
    defer { tcsetattr(input, TCSANOW, &saved) }
    let query: [UInt8] = [0x1B, UInt8(ascii: "["), UInt8(ascii: "c")]
    guard write(fd, query, query.count) == query.count else { return nil }
    var answer: [UInt8] = []
    var poller = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
    while poll(&poller, 1, 200) > 0 {
      var byte: UInt8 = 0
      guard read(input, &byte, 1) == 1 else { break }
      answer.append(byte)
      if byte == UInt8(ascii: "c") { break }
    }
    return answer.isEmpty ? nil : String(decoding: answer, as: UTF8.self)
  }

  public func show(_ images: [ImagePlacement]) {
    guard !isRestored, let writer = graphicsWriter else { return }
    guard images != shownImages || imagesOverwritten else { return }
    writeBytes(writer.frame(images))
    shownImages = images
    imagesOverwritten = false
  }

  func writeBytes(_ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, outputFile) }
    fflush(outputFile)
  }
}
