// `tokenscope lesson` started cold in a real terminal: page 1 must finish computing (it once stayed on "computing…"
// forever, because the lesson's first computations were never started).
import Foundation
import Testing
import TestSupport

@Suite("Lesson cold start (tmux)", .enabled(if: Tmux.available), .serialized)
struct LessonColdStartTests {
  @Test(arguments: [(80, 24), (140, 45)])
  func pageOneCompletes(width: Int, height: Int) throws {
    let tmux = Tmux()
    defer { tmux.kill() }
    let started = Date()
    try tmux.start("\(binaryPath) lesson; sleep 60", width: width, height: height)
    var screen = ""
    var done = false
    while Date().timeIntervalSince(started) < 15 && !done {
      screen = try tmux.screen()
      done = screen.contains("lesson 1/") && !screen.contains("computing")
      if !done { Thread.sleep(forTimeInterval: 0.05) }
    }
    let seconds = Date().timeIntervalSince(started)
    #expect(done, "page 1 at \(width)x\(height) after \(seconds) s:\n\(screen)")
    // The limit here is generous for a loaded CI machine; the README gives the time measured on a quiet one.
    #expect(seconds < 5, "page 1 at \(width)x\(height) took \(seconds) s")
    try tmux.keys("q")
  }
}
