// The explorer in hostile terminals (issue: robustness): terminals that cannot run the UI, an old terminal in the C
// locale, a 1x1 window, a closed stdin, and resizes while the worker computes. Never a crash, never a hang.
import Foundation
import Testing
import TestSupport

extension ExplorerEndToEndTests {
  /// The exit status written by `launch`, once it is there.
  func exitStatus(_ status: String, within seconds: Double = 10) -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    while !FileManager.default.fileExists(atPath: status) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    return (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test(arguments: ["env TERM=dumb", "env -u TERM"])
  func terminalsThatCannotRunTheUI(environment: String) throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux, environment: environment)
    #expect(exitStatus(status) == "64", "a usage error, not a crash")
    let screen = try tmux.screen()
    #expect(screen.contains("cannot start the terminal UI"), "\(screen)")
    #expect(screen.components(separatedBy: "cannot start").count == 2, "said once: \(screen)")
  }

  @Test func vt100InTheCLocaleDrawsAscii() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux, environment: "env TERM=vt100 LANG=C LC_ALL=C")
    #expect(try tmux.waitFor("block 0 of 0-11"))
    let screen = try tmux.screen()
    #expect(!screen.contains("╭") && !screen.contains("█") && screen.contains("+-"), "ASCII frames and glyphs: \(screen)")
    try tmux.keys("Right")
    #expect(try tmux.waitFor("block 1 of 0-11"))
    try tmux.keys("q")
    #expect(exitStatus(status) == "0")
  }

  @Test func aOneByOneTerminalStillQuits() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = NSTemporaryDirectory() + "\(tmux.socket).status"
    try? FileManager.default.removeItem(atPath: status)
    try tmux.start("\(binaryPath); \(Tmux.writeStatus(to: status)); sleep 60", width: 1, height: 1)
    Thread.sleep(forTimeInterval: 1.5)
    try tmux.keys("q")
    #expect(exitStatus(status) == "0", "q works in a 1x1 window")
  }

  @Test func closedStdinIsAUsageError() throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", "\"$0\" <&-", binaryPath]
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 64 && p.terminationReason == .exit)
    #expect(message.contains("needs a terminal") && message.split(separator: "\n").count == 1, "\(message)")
  }

  @Test func resizingWhileTheWorkerComputes() throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let status = try launch(tmux, arguments: "--method clustr --method dvt --method upvit")
    #expect(try tmux.waitFor("block 0 of 0-11"))
    // Each m and +/- queues a computation; the resizes land while they run.
    for (i, size) in [(70, 20), (130, 45), (45, 14), (100, 30)].enumerated() {
      try tmux.keys(i % 2 == 0 ? "m" : "+")
      try tmux.run(["resize-window", "-t", "t", "-x", "\(size.0)", "-y", "\(size.1)"], capture: false)
    }
    #expect(try tmux.waitFor("block 0 of 0-11"), "redrawn at the last size: \((try? tmux.screen()) ?? "")")
    try tmux.keys("Right")
    #expect(try tmux.waitFor("block 1 of 0-11"), "still responsive")
    try tmux.keys("q")
    #expect(exitStatus(status) == "0")
  }
}
