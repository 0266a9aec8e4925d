import Testing
@testable import TUI

@Suite struct TestBackendTests {
  @Test func recordsFramesAndCountsChangedCells() {
    var backend = TestBackend(size: Size(width: 10, height: 2))
    backend.drawFrame { $0.set(string: "hello", x: 0, y: 0) }
    backend.drawFrame { $0.set(string: "hallo", x: 0, y: 0) }
    backend.drawFrame { $0.set(string: "hallo", x: 0, y: 0) }
    #expect(backend.frames.count == 3)
    #expect(backend.changedCellCounts == [20, 1, 0])  // first frame in full, then only the "a"
    #expect(backend.lastFrame?.lines == ["hallo     ", "          "])
  }

  @Test func resizeQueuesAnEventAndForcesAFullFrame() {
    var backend = TestBackend(size: Size(width: 4, height: 1))
    backend.drawFrame { _ in }
    backend.resize(to: Size(width: 6, height: 2))
    #expect(backend.readEvent(timeoutMs: 0) == .resize(width: 6, height: 2))
    backend.drawFrame { _ in }
    #expect(backend.changedCellCounts == [4, 12])
    #expect(backend.lastFrame?.area.size == Size(width: 6, height: 2))
  }

  @Test func replaysEventsThenTimesOut() {
    var backend = TestBackend(size: Size(width: 1, height: 1), events: [.char("q"), .ctrlC])
    #expect(backend.readEvent(timeoutMs: 100) == .char("q"))
    #expect(backend.readEvent(timeoutMs: 100) == .ctrlC)
    #expect(backend.readEvent(timeoutMs: 100) == nil)
    #expect(backend.readCount == 3)
    backend.restore()
    backend.restore()
    #expect(backend.isRestored)
  }
}

/// A miniature app loop, as the explorer will write one, driven entirely through `TerminalBackend`.
@Suite struct AppLoopTests {
  struct Model {
    var layer = 0
    var showHelp = false
    var quit = false
  }

  static let needed = Size(width: 20, height: 5)

  static func render(_ model: Model, into buffer: inout Buffer) {
    let screen = buffer.area
    guard screen.size.fits(needed) else {
      buffer.render(TooSmallScreen(current: screen.size, needed: needed, appearance: .asciiMonochrome), in: screen)
      return
    }
    let rows = screen.rows([.fill(1), .fixed(1)])
    let block = Block(title: "Layer \(model.layer)", glyphs: .ascii)
    buffer.render(block, in: rows[0])
    buffer.render(Gauge(ratio: Double(model.layer) / 4, labelPlacement: .hidden, glyphs: .ascii), in: block.inner(rows[0]))
    buffer.render(KeyHintBar(hints: [KeyHint("<>", "layer"), KeyHint("?", "help"), KeyHint("q", "quit")], glyphs: .ascii), in: rows[1])
    if model.showHelp {
      buffer.render(HelpOverlay(entries: [KeyHint("q", "quit")], glyphs: .ascii), in: screen)
    }
  }

  static func run<Backend: TerminalBackend>(_ backend: inout Backend) -> Model {
    var model = Model()
    backend.drawFrame { render(model, into: &$0) }
    while !model.quit {
      guard let event = backend.readEvent(timeoutMs: 50) else { break }  // scripted input ran out
      switch event {
      case .right: model.layer = min(model.layer + 1, 4)
      case .left: model.layer = max(model.layer - 1, 0)
      case .char("?"): model.showHelp.toggle()
      case .escape: model.showHelp = false
      case .char("q"), .ctrlC: model.quit = true
      default: break
      }
      backend.drawFrame { render(model, into: &$0) }
    }
    backend.restore()
    return model
  }

  @Test func keysDriveTheModelAndOnlyChangedCellsAreFlushed() {
    var backend = TestBackend(size: Size(width: 20, height: 5), events: [.right, .right, .char("q")])
    let model = Self.run(&backend)
    #expect(model.layer == 2 && model.quit)
    #expect(backend.isRestored)
    expectLines(backend.lastFrame!, [
      "+Layer 2-----------+",
      "|=========         |",
      "|=========         |",
      "+------------------+",
      "<> layer  ? help  ~ ",
    ])
    // Each step rewrites the title digit and the bar cells that changed (5 per row), nothing else; quitting
    // redraws an identical frame, which flushes nothing.
    #expect(backend.changedCellCounts == [100, 11, 11, 0])
  }

  @Test func resizeBelowTheMinimumShowsTheTooSmallScreenAndQStillQuits() {
    var backend = TestBackend(size: Size(width: 20, height: 5))
    backend.resize(to: Size(width: 12, height: 3))
    backend.pendingEvents.append(.char("q"))
    let model = Self.run(&backend)
    #expect(model.quit)
    expectLines(backend.frames[1], [" too small  ", "    12x3    ", " need 20x5  "])
  }

  @Test func helpOverlayOpensAndCloses() {
    var backend = TestBackend(size: Size(width: 20, height: 5), events: [.char("?"), .escape])
    _ = Self.run(&backend)
    #expect(backend.frames[1].lines.joined().contains("Help"))
    #expect(!backend.frames[2].lines.joined().contains("Help"))
  }
}
