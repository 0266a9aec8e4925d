// The explorer in a pseudo-terminal that plays a graphics terminal: it answers the device attributes query as a
// sixel xterm would, or carries kitty's environment, and the bytes the binary writes are read back. The images must
// come as the protocol's escape sequences; inside tmux, or with --graphics none, none may come.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The binary on a pty of 80x24 cells (8x16 pixels each), its output collected until `until` shows up or 20 s pass.
/// `answers` maps a query the binary writes to the terminal's reply.
func runOnPTY(arguments: [String], environment: [String: String], answers: [String: String],
              until: (String) -> Bool) throws -> String {
  var master: Int32 = 0, slave: Int32 = 0
  var size = winsize(ws_row: 24, ws_col: 80, ws_xpixel: 640, ws_ypixel: 384)
  guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw CocoaError(.fileReadUnknown) }
  defer { close(master) }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: binaryPath)
  process.arguments = arguments
  process.environment = environment
  let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
  process.standardInput = terminal
  process.standardOutput = terminal
  process.standardError = terminal
  try process.run()
  try terminal.close()
  var output: [UInt8] = []
  var answered = Set<String>()
  let deadline = Date().addingTimeInterval(20)
  var quitSent = false
  while Date() < deadline {
    var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
    if poll(&poller, 1, 50) > 0 {
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = read(master, &chunk, chunk.count)
      if n <= 0 { break }
      output += chunk[0..<n]
    }
    let text = String(decoding: output, as: UTF8.self)
    for (query, reply) in answers where !answered.contains(query) && text.contains(query) {
      answered.insert(query)
      _ = reply.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
    }
    if !quitSent && until(text) {
      quitSent = true
      _ = write(master, "q", 1)
    }
    if quitSent && !process.isRunning { break }
  }
  if process.isRunning { process.terminate() }
  process.waitUntilExit()
  // What it wrote on its way out.
  while true {
    var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, 200) > 0 else { break }
    var chunk = [UInt8](repeating: 0, count: 65536)
    let n = read(master, &chunk, chunk.count)
    if n <= 0 { break }
    output += chunk[0..<n]
  }
  return String(decoding: output, as: UTF8.self)
}

@Suite("Explorer graphics on a pseudo-terminal", .serialized)
struct GraphicsPTYTests {
  static let base: [String: String] = {
    var env = ["HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLORTERM": "truecolor",
               "XDG_CONFIG_HOME": NSTemporaryDirectory() + "tokenscope-no-config"]
    env["PATH"] = ProcessInfo.processInfo.environment["PATH"]
    return env
  }()

  /// An xterm that lists sixel in its device attributes: the binary asks, and draws the map as a sixel image.
  @Test func sixelWhereTheTerminalSaysSo() throws {
    var env = Self.base
    env["TERM"] = "xterm-256color"
    let out = try runOnPTY(arguments: ["explore"], environment: env, answers: ["\u{1B}[c": "\u{1B}[?62;4;22c"],
                           until: { $0.contains("\u{1B}P0;1;0q") && $0.contains("\u{1B}\\") })
    #expect(out.contains("\u{1B}[c"), "the device attributes query was sent")
    #expect(out.contains("\u{1B}P0;1;0q\"1;1;"), "a sixel image came")
    // The first map (28 x 14 cells at 80x24) is 28 x 8 by 14 x 16 pixels.
    #expect(out.contains("\"1;1;224;224"), "at the cells' pixel size")
  }

  /// kitty's environment: no query, kitty's APC sequences, earlier images deleted first.
  @Test func kittyByItsEnvironment() throws {
    var env = Self.base
    env["TERM"] = "xterm-256color"
    env["KITTY_WINDOW_ID"] = "1"
    let out = try runOnPTY(arguments: ["explore"], environment: env, answers: [:],
                           until: { $0.contains("\u{1B}_Ga=T,f=24,") })
    #expect(!out.contains("\u{1B}[c"), "the environment decided: nothing asked")
    #expect(out.contains("\u{1B}_Ga=d,d=A,q=2\u{1B}\\"))
    #expect(out.contains("\u{1B}_Ga=T,f=24,s="))
    let lastImage = try #require(out.range(of: "\u{1B}_Ga=T", options: .backwards))
    let lastDelete = try #require(out.range(of: "\u{1B}_Ga=d,d=A", options: .backwards))
    #expect(lastDelete.lowerBound > lastImage.lowerBound, "the images are deleted on the way out")
  }

  /// A protocol forced inside tmux goes through tmux's passthrough.
  @Test func forcedInsideTmuxGoesThroughThePassthrough() throws {
    var env = Self.base
    env["TERM"] = "tmux-256color"
    env["TMUX"] = "/tmp/tmux-0/default,1,0"
    let out = try runOnPTY(arguments: ["explore", "--graphics", "kitty"], environment: env, answers: [:],
                           until: { $0.contains("\u{1B}Ptmux;\u{1B}\u{1B}_Ga=T,f=24,") })
    #expect(out.contains("\u{1B}Ptmux;\u{1B}\u{1B}_Ga=T,f=24,"))
    #expect(!out.contains("\u{1B}[c"), "forced: nothing asked")
  }

  /// Inside tmux (its environment), or with --graphics none, only text: no query, no image.
  @Test(arguments: [true, false])
  func textOnlyInsideTmuxOrWhenTurnedOff(tmux: Bool) throws {
    var env = Self.base
    env["TERM"] = tmux ? "tmux-256color" : "xterm-256color"
    if tmux { env["TMUX"] = "/tmp/tmux-0/default,1,0" }
    env["KITTY_WINDOW_ID"] = "1"
    let out = try runOnPTY(arguments: tmux ? ["explore"] : ["explore", "--graphics", "none"], environment: env,
                           answers: ["\u{1B}[c": "\u{1B}[?62;4;22c"], until: { $0.contains("block 0 of 0-11") })
    #expect(out.contains("block 0 of 0-11"), "the explorer drew")
    #expect(!out.contains("\u{1B}_G") && !out.contains("\u{1B}P0;1;0q") && !out.contains("\u{1B}]1337;"))
  }
}
