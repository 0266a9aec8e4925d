// Lesson mode's state: starting it asks for the page's computations, and leaving it puts back the methods the user had.
import Testing
import TestSupport
@testable import Explorer
@testable import TokenMethods

@Suite("Lesson state")
struct LessonStateTests {
  /// The cause of `tokenscope lesson` hanging on "computing…": starting the lesson marks page 1's baseline pending, so
  /// whoever sends `.startLesson` must start the effects it returns.
  @Test func startingTheLessonAsksForThePagesComputations() throws {
    var state = try fixtureState()
    let effects = update(&state, .startLesson)
    #expect(effects == [.compute(MethodSpec.baseline)])
    #expect(state.pending == [MethodSpec.baseline.canonical])
  }

  @Test func leavingTheLessonRestoresTheMethods() throws {
    var state = try fixtureState(methods: ["tome:r=2", "idle"])
    state.focus = 1
    _ = update(&state, .startLesson)
    _ = update(&state, .lessonStep(1))
    _ = update(&state, .startLesson)  // restarting inside the lesson keeps the methods from before it
    #expect(state.methods.map(\.name) == ["none"])
    _ = update(&state, .endLesson)
    #expect(state.lessonPage == nil && state.methods.map(\.canonical) == ["tome:r=2,schedule=constant,prop=true", "idle:keep=0.7,layers=3-11"])
    #expect(state.focus == 0)
    _ = update(&state, .startLesson)
    _ = update(&state, .escape)
    #expect(state.lessonPage == nil && state.methods.map(\.name) == ["tome", "idle"], "Esc leaves the lesson the same way")
  }
}

@Suite("Help overlay")
struct HelpOverlayTests {
  /// `?` shows the focused method's [recon] notes after the keys.
  @Test func helpListsTheFocusedMethodsReconNotes() throws {
    var state = try fixtureState(methods: ["clustr:clusters=4"])
    let clustr = ExplorerScreen(state: state, appearance: .rich).helpEntries.map { "\($0.key) \($0.action)" }
    #expect(clustr.contains { $0.hasPrefix("clustr ClusTR clustered attention") })
    #expect(clustr.contains { $0.hasPrefix("[recon] single-scale") })
    #expect(clustr.contains { $0.hasPrefix("[recon] layers: the paper's backbone clusters in every block") })
    state.methods = [MethodSpec.baseline]
    let none = ExplorerScreen(state: state, appearance: .rich).helpEntries
    #expect(!none.contains { $0.key == "[recon]" }, "the baseline has no reconstruction notes")
  }
}
