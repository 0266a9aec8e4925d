// The explorer's attribution probes: relevance kept from the baseline's rollout, the `x` ablation with its effect in
// the side panel, the `X` ranking drawn as a map, and the logit lens (absent, with the reason, on a headless model).
import Foundation
import Testing
import TestSupport
@testable import Explorer
import ImageIO
import ImageInput
import TokenMethods
import ViTEngine

@Suite("Explorer attribution")
struct AttributionViewTests {
  func text(_ state: ExplorerState) -> String { screen(state, 120, 40).lines.joined(separator: "\n") }

  @Test func relevanceViewAsksForTheBaselineAndShowsRelevanceKept() throws {
    var state = try fixtureState()
    state.layer = 2
    let effects = update(&state, .nextView)  // any action: the baseline is not needed outside the relevance view
    #expect(!effects.contains(.compute(.baseline)))
    state.view = .relevance
    #expect(update(&state, .tick).contains(.compute(.baseline)))
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let baseline = try fixtureImage().methodRun(try MethodPlan(spec: .baseline, model: model))
    _ = update(&state, .computed(baseline))
    let run = try #require(state.focusedRun)
    let kept = try #require(AttentionRollout.relevanceKept(baseline: baseline.layers.last!.rollout, states: run.layers[2].patchState))
    #expect(kept > 0 && kept < 1)
    #expect(text(state).contains("relevance kept \(fixed1(Double(kept) * 100))% of the baseline's"))
    state.compare = true
    #expect(text(state).contains("rel \(fixed1(Double(kept) * 100))%") && text(state).contains("╭ baseline "))
  }

  @Test func ablationKeyDropsTheCursorTokenAndShowsItsEffect() throws {
    var state = try fixtureState()
    state.layer = 2
    _ = update(&state, .toggleAblation)
    #expect(state.message?.contains("move the patch cursor") == true)
    _ = update(&state, .clickPatch(row: 1, col: 2))
    let effects = update(&state, .toggleAblation)
    let run = try #require(state.focusedRun)
    // The patches of the token holding (1, 2) at block 2's input, i.e. after block 1.
    let token = run.layers[1].patchToken[8]
    let held = (0..<36).filter { run.layers[1].patchToken[$0] == token }
    let request = AblationRequest(layer: 2, patches: held)
    #expect(effects == [.ablate(run.spec, request)])
    // The worker's answer equals the library's ablation of the same pass.
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let answer = Worker.ablate(run.spec, request, model: model, input: try fixtureImage())
    _ = update(&state, answer)
    let summary = try #require(state.ablation?.summary)
    let plan = try MethodPlan(spec: run.spec, model: model)
    let direct = try TokenAblation.run(request, pass: try fixtureImage().run(plan).pass)
    #expect(summary.probabilityChange == direct.deltas()!.probability && summary.logitChange == direct.deltas()!.logit)
    #expect(text(state).contains("x: dropped from block 2: \(held.count) patch"))
    #expect(text(state).contains("logit \(summary.logitChange >= 0 ? "+" : "")\(fixed4(Double(summary.logitChange)))"))
    // Pressed again on the same token, it is restored.
    _ = update(&state, .toggleAblation)
    #expect(state.ablation == nil)
  }

  @Test func rankingIsDrawnAsAMapWhenDone() throws {
    var state = try fixtureState()
    state.layer = 1
    state.view = .ablation
    #expect(text(state).contains("Press X to rank every token of block 1"))
    let effects = update(&state, .rankAblation)
    let run = try #require(state.focusedRun)
    #expect(effects == [.rankAblation(run.spec, layer: 1)])
    var progress: [Action] = []
    let model = try ModelLoader.load(path: modelFixture("grey_p2"))
    let done = Worker.rank(run.spec, layer: 1, model: model, input: try fixtureImage()) { progress.append($0) }
    _ = update(&state, done)
    let ranking = try #require(state.currentRanking)
    #expect(ranking.finished && ranking.total == run.layers[0].tokensOut - 1 && !progress.isEmpty)
    #expect(ranking.change.filter(\.isFinite).count == 36, "every patch is held by a token at block 1's input")
    let screenText = text(state)
    #expect(!screenText.contains("Press X") && !screenText.contains("ranking tokens"))
  }

  @Test func lensNeedsAHead() throws {
    var state = try fixtureState()
    state.view = .lens
    #expect(text(state).contains("lens top-1 by patches:"))
    let model = try ModelLoader.load(path: modelFixture("dinov2"))
    let image = try ModelImage(image: try ImageLoader.load(path: modelFixture("dinov2", "input.png")), name: "input.png",
                               pipeline: Preprocessing.none(inputSize: (56, 56), channels: 3, mean: [0.485, 0.456, 0.406],
                                                            std: [0.229, 0.224, 0.225]), patchSize: 14)
    let run = try image.methodRun(try MethodPlan(spec: .baseline, model: model))
    #expect(run.lensUnavailable == "this model has no classifier head, so its tokens have no logits to read")
    #expect(run.layers.allSatisfy { $0.lensClass == nil })
    state.methods = [.baseline]
    state.runs = [MethodSpec.baseline.canonical: run]
    #expect(text(state).contains("No logit lens: this model has no classifier head"))
  }
}
