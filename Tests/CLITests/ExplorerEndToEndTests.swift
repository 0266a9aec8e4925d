// The explorer in a real terminal: tmux runs the binary, send-keys types, capture-pane reads the screen.
// Each test uses its own tmux server socket, so runs never interfere.
import Foundation
import Testing
import TestSupport

/// The first executable called `name` in a directory of PATH, as a shell would find it.
func executableInPath(_ name: String) -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

struct Tmux {
  let socket = "tokenscope-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

  static let path = executableInPath("tmux")
  static var available: Bool { path != nil }

  /// Runs a tmux command. `capture` is off for commands that start the server, which would inherit the pipe and
  /// keep it open forever.
  ///
  /// tmux runs behind a bash that first closes every descriptor above stderr. Otherwise the daemonised server inherits
  /// whatever the test process has open: Foundation's exit-watch socket for this Process (whose EOF is how `Process`
  /// learns that the child ended, so `waitUntilExit` would wait for the server) and the pipes of other tests' processes.
  @discardableResult
  func run(_ arguments: [String], capture: Bool = true) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    let closeInherited = #"for f in /proc/$$/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done; exec "$0" "$@""#
    p.arguments = ["-c", closeInherited, Self.path ?? "tmux", "-L", socket] + arguments
    let out = Pipe()
    p.standardOutput = capture ? out : FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }

  func start(_ command: String, width: Int = 120, height: Int = 40) throws {
    try run(["new-session", "-d", "-s", "t", "-x", "\(width)", "-y", "\(height)", "-c", repositoryRoot, command], capture: false)
  }

  func screen(escapes: Bool = false) throws -> String { try run(["capture-pane", "-p", "-t", "t"] + (escapes ? ["-e"] : [])) }

  func keys(_ keys: String...) throws { try run(["send-keys", "-t", "t"] + keys, capture: false) }

  /// Polls the screen until it contains `text` (up to `seconds`).
  func waitFor(_ text: String, seconds: Double = 15) throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if try screen().contains(text) { return true }
      Thread.sleep(forTimeInterval: 0.1)
    }
    return false
  }

  func kill() { _ = try? run(["kill-server"], capture: false) }

  /// Shell code that writes the last exit status to `path` all at once: the tests poll for the file, and a plain
  /// `echo $? > path` lets them find it created but still empty.
  static func writeStatus(to path: String) -> String { "echo $? > \(path).part && mv \(path).part \(path)" }
}

@Suite("Explorer end to end (tmux)", .enabled(if: Tmux.available), .serialized)
struct ExplorerEndToEndTests {
  /// The binary with no arguments, then the exit status written to a file when it ends.
  func launch(_ tmux: Tmux, environment: String = "", arguments: String = "") throws -> String {
    let status = NSTemporaryDirectory() + "\(tmux.socket).status"
    try? FileManager.default.removeItem(atPath: status)
    try tmux.start("\(environment) \(binaryPath) \(arguments); \(Tmux.writeStatus(to: status)); sleep 60")
    return status
  }

  @Test func stepSwitchHelpResizeQuit() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux)
    let opened = try tmux.waitFor("block 0 of 0-11")
    #expect(opened, "opens on the bundled model: \((try? tmux.screen()) ?? "")")
    try tmux.keys("Right")
    #expect(try tmux.waitFor("block 1 of 0-11"))
    try tmux.keys("Tab")
    #expect(try tmux.waitFor("image:"), "Tab switches the view")
    try tmux.keys("m")
    #expect(try tmux.waitFor("1:idle"), "m switches the method")
    try tmux.keys("?")
    #expect(try tmux.waitFor("tokenscope keys"), "? opens help")
    try tmux.keys("Escape")
    Thread.sleep(forTimeInterval: 0.3)
    #expect(!(try tmux.screen()).contains("tokenscope keys"), "Esc closes help")
    try tmux.run(["resize-window", "-t", "t", "-x", "40", "-y", "12"], capture: false)
    let small = try tmux.waitFor("terminal too small")
    #expect(small, "shrinking shows the too-small screen: \((try? tmux.screen()) ?? "")")
    try tmux.run(["resize-window", "-t", "t", "-x", "100", "-y", "30"], capture: false)
    #expect(try tmux.waitFor("block 1 of 0-11"), "growing redraws")
    try tmux.keys("q")
    let deadline = Date().addingTimeInterval(10)
    while !FileManager.default.fileExists(atPath: status) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    let code = (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(code == "0", "q exits 0")
    #expect(!(try tmux.screen()).contains("block 1 of 0-11"), "the terminal is restored (alternate screen left)")
  }

  @Test func noColorMeansNoColourEscapes() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    _ = try launch(tmux, environment: "NO_COLOR=1")
    #expect(try tmux.waitFor("block 0 of 0-11"))
    Thread.sleep(forTimeInterval: 0.5)
    let escapes = try tmux.screen(escapes: true)
    for colour in ["[38;", "[48;", "[3", "[4"] where colour.count > 3 {
      #expect(!escapes.contains("\u{1B}" + colour), "no \(colour) sequences with NO_COLOR")
    }
    let codes = escapes.components(separatedBy: "\u{1B}[").dropFirst().compactMap { $0.split(separator: "m").first }
    let colourCodes = codes.flatMap { $0.split(separator: ";") }.compactMap { Int($0) }.filter { (30...49).contains($0) && $0 != 39 && $0 != 49 }
    #expect(colourCodes.isEmpty, "colour SGR codes with NO_COLOR: \(Set(colourCodes))")
    try tmux.keys("q")
  }

  @Test func lessonPagesAndSampleCycling() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux, arguments: "lesson")
    #expect(try tmux.waitFor("lesson 1/"), "lesson opens on its first page: \((try? tmux.screen()) ?? "")")
    try tmux.keys("]")
    #expect(try tmux.waitFor("lesson 2/"))
    try tmux.keys("t")
    Thread.sleep(forTimeInterval: 0.3)
    #expect(!(try tmux.screen()).contains("lesson 2/"), "t leaves the lesson")
    let before = try tmux.screen().split(separator: "\n").first { $0.hasPrefix("image ") }.map(String.init) ?? ""
    try tmux.keys("n")
    let deadline = Date().addingTimeInterval(10)
    var after = before
    while after == before && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.1)
      after = try tmux.screen().split(separator: "\n").first { $0.hasPrefix("image ") }.map(String.init) ?? ""
    }
    #expect(after != before && after.hasPrefix("image "), "n opens the next bundled image: \(before) -> \(after)")
    try tmux.keys("S-Right")
    #expect(try tmux.waitFor("patch ("), "Shift+Right puts the patch cursor on the map")
    try tmux.keys("q")
    let end = Date().addingTimeInterval(10)
    while !FileManager.default.fileExists(atPath: status) && Date() < end { Thread.sleep(forTimeInterval: 0.1) }
    #expect((try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
  }

  @Test(arguments: [("TERM", "143"), ("INT", "130")])
  func signalsRestoreTheTerminal(signal: String, expected: String) throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux)
    #expect(try tmux.waitFor("block 0 of 0-11"))
    let shell = try tmux.run(["display", "-p", "-t", "t", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try #require(executableInPath("pkill")))
    p.arguments = ["-\(signal)", "-P", shell, "tokenscope"]
    try p.run()
    p.waitUntilExit()
    let deadline = Date().addingTimeInterval(10)
    while !FileManager.default.fileExists(atPath: status) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    let code = (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(code == expected, "killed by SIG\(signal), as a shell reports it")
    Thread.sleep(forTimeInterval: 0.3)
    #expect(!(try tmux.screen()).contains("block 0 of 0-11"), "the alternate screen was left")
  }

  @Test func withoutATerminalItExits64() throws {
    let r = try tokenscope([])
    #expect(r.status == 64)
    #expect(r.stderr.contains("report"))
  }
}
