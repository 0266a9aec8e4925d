// Computing ahead: once the screen has its runs, the worker computes the likely next ones, one at a time; a key that
// asks for one of them redraws without computing; a look-ahead gives way to what the user asks for; and the results
// kept off screen are bounded.
import Foundation
import Testing
@testable import Explorer
import TestSupport
import TokenMethods
import ViTEngine

@Suite("Explorer computes ahead")
struct ComputeAheadTests {
  /// Runs every effect on `worker` and feeds the answers back until nothing is left to do.
  func settle(_ state: inout ExplorerState, _ worker: Worker, _ effects: [Effect]) {
    var effects = effects
    while !effects.isEmpty {
      for effect in effects { worker.start(effect) }
      worker.waitUntilIdle()
      effects = worker.drain().flatMap { update(&state, $0) }
    }
  }

  @Test func likelyNextRunsAreReadyBeforeTheKey() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let worker = Worker(model: model, input: try fixtureImage())
    var state = try fixtureState(methods: ["tome:r=2"])
    state.runs = [:]
    state.computeAhead = true
    // Nothing ahead while the screen still waits for its own run.
    let first = update(&state, .tick)
    #expect(first == [.compute(try MethodSpec.parse("tome:r=2"))])
    settle(&state, worker, first)
    // Then, one at a time, m's next preset, + and -, and m's previous preset; all of them computed by now.
    let expected = [state.cycled(state.focusedSpec, by: 1), state.focusedSpec.stepped(1), state.focusedSpec.stepped(-1),
                    state.cycled(state.focusedSpec, by: -1)].compactMap { $0 }
    #expect(expected.count == 4)
    for spec in expected { #expect(state.runs[spec.canonical] != nil, "\(spec.canonical) computed ahead") }
    #expect(state.lookingAhead.isEmpty && state.pending.isEmpty && state.likelyNext.isEmpty)
    // `+` now shows its run at once: no computation starts and nothing is pending.
    let effects = update(&state, .adjustParameter(1))
    #expect(state.focusedSpec == expected[1])
    #expect(!effects.contains(.compute(expected[1])) && state.pending.isEmpty && state.focusedRun != nil)
  }

  @Test func aLookAheadGivesWayToTheUser() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    // The worker is held inside a first job until both later effects are queued. (A computation as the first job made
    // the test depend on timing: on a busy machine it could finish before the user's effect was queued, and the
    // look-ahead then rightly ran.)
    let release = DispatchSemaphore(value: 0)
    let worker = Worker(model: model, input: try fixtureImage(), opener: { _ in
      release.wait()
      throw CocoaError(.fileNoSuchFile)
    })
    var state = try fixtureState(methods: ["tome:r=2"])
    state.computeAhead = true
    let ahead = update(&state, .tick)
    guard case .computeAhead(let spec)? = ahead.last else { Issue.record("no look-ahead: \(ahead)"); return }
    #expect(state.lookingAhead == [spec.canonical] && !state.isBusy)
    // The look-ahead waits behind another job, and the user asks for something else before it starts: the worker
    // drops it.
    let wanted = try MethodSpec.parse("evit:keep=0.5,layers=1")
    worker.start(.openImage("held"))
    worker.start(.computeAhead(spec))
    worker.start(.compute(wanted))
    release.signal()
    worker.waitUntilIdle()
    let answers = worker.drain()
    #expect(answers.contains { if case .lookAheadDropped(spec.canonical) = $0 { true } else { false } })
    let after = answers.flatMap { update(&state, $0) }
    #expect(state.runs[spec.canonical] == nil && state.runs[wanted.canonical] != nil)
    // Once the worker is free again, the look-ahead is asked for again.
    #expect(after.last == .computeAhead(spec) && state.lookingAhead == [spec.canonical])
    // A look-ahead that comes on screen while it runs shows as computing, and is not started twice.
    var promoted = try fixtureState(methods: ["tome:r=2"])
    promoted.computeAhead = true
    guard case .computeAhead(let next)? = update(&promoted, .tick).last else { Issue.record("no look-ahead"); return }
    let effects = update(&promoted, .cycleMethod(1))
    #expect(promoted.focusedSpec == next && promoted.pending.contains(next.canonical) && promoted.isBusy)
    #expect(!effects.contains(.compute(next)))
  }

  @Test func offScreenResultsAreBounded() throws {
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let worker = Worker(model: model, input: try fixtureImage())
    var state = try fixtureState(methods: ["tome:r=2"])
    state.runs = [:]
    for r in 1...12 {
      state.methods[0] = try MethodSpec.parse("tome:r=\(r)")
      settle(&state, worker, update(&state, .tick))
    }
    #expect(state.runs.count == ExplorerState.retainedRuns + 1)
    #expect(state.runs["tome:r=12,schedule=constant,prop=true"] != nil, "the run on screen stays")
    #expect(state.runs["tome:r=1,schedule=constant,prop=true"] == nil, "the oldest off-screen run goes first")
    #expect(Set(state.runOrder) == Set(state.runs.keys))
  }
}
