// The explorer's attribution probes: a token ablation on the patch cursor (`x`) and a ranking of every token of a
// layer by its ablation effect (`X`), both computed on the worker; and the relevance kept by each method, read from
// the baseline's rollout.
import ImageInput
import TokenMethods
import ViTEngine

/// What an ablation did to the focused method's prediction.
public struct AblationSummary: Sendable, Equatable {
  /// The unablated top-1 class and its label; the changes of its probability and logit.
  public var label: String
  public var probabilityChange: Float, logitChange: Float
  /// The top-1 label after the ablation, when it changed.
  public var newTop: String?
  public var droppedTokens: Int, droppedPatches: Int
}

/// The tokens dropped on the focused method (`x` toggles the cursor's token) and, once computed, the effect.
public struct AblationProbe: Sendable {
  public var spec: String
  public var layer: Int
  public var patches: Set<Int>
  public var summary: AblationSummary?
}

/// Every token of one layer ranked by the change of the top-1 probability when it alone is dropped (`X`).
public struct AblationRanking: Sendable {
  public var spec: String
  public var layer: Int
  /// Per patch: the change its token's removal causes (NaN where no token holds it, or not yet computed).
  public var change: [Float]
  public var done: Int, total: Int
  public var finished: Bool { done == total }
}

extension ExplorerState {
  /// The baseline run, when it has been computed (relevance kept needs its final rollout).
  public var baselineRun: MethodRun? { runs[MethodSpec.baseline.canonical] }

  /// The share of the baseline's final rollout mass on patches that `layer` still holds as their own token.
  public func relevanceKept(run: MethodRun, layer: LayerView) -> Float? {
    guard let base = baselineRun, base.grid == run.grid, let final = base.layers.last?.rollout else { return nil }
    return AttentionRollout.relevanceKept(baseline: final, states: layer.patchState)
  }

  /// The ranking of the focused method at the current layer, when one exists.
  public var currentRanking: AblationRanking? {
    guard let r = ranking, r.spec == focusedSpec.canonical, r.layer == layer else { return nil }
    return r
  }
}

/// The attribution part of `update`.
func updateAttribution(_ state: inout ExplorerState, _ action: Action) -> [Effect] {
  switch action {
  case .toggleAblation:
    guard let run = state.focusedRun, state.layer < run.layers.count else { state.message = "still computing"; return [] }
    guard let patch = state.cursorPatch(in: run) else {
      state.message = "move the patch cursor onto a token first (Shift+arrows or click), then press x"
      return []
    }
    let input = state.layer == 0 ? nil : run.layers[state.layer - 1]
    let token = input.map { Int($0.patchToken[patch]) } ?? patch  // at block 0 every patch is its own token
    guard token >= 0 else { state.message = "no token holds this patch at block \(state.layer)'s input"; return [] }
    // The token's patches at the block's input: dropping one drops them all.
    func holder(_ q: Int) -> Int { input.map { Int($0.patchToken[q]) } ?? q }
    let held = Set((0..<run.grid.count).filter { holder($0) == token })
    var probe = state.ablation.flatMap { $0.spec == run.spec.canonical && $0.layer == state.layer ? $0 : nil }
      ?? AblationProbe(spec: run.spec.canonical, layer: state.layer, patches: [], summary: nil)
    if probe.patches.isSuperset(of: held) { probe.patches.subtract(held) } else { probe.patches.formUnion(held) }
    probe.summary = nil
    guard !probe.patches.isEmpty else { state.ablation = nil; state.message = "ablation cleared"; return [] }
    state.ablation = probe
    return [.ablate(run.spec, AblationRequest(layer: state.layer, patches: probe.patches.sorted()))]
  case .rankAblation:
    guard let run = state.focusedRun else { state.message = "still computing"; return [] }
    guard run.finalTop.first != nil else { state.message = "this model has no classifier head: there is no top-1 to change"; return [] }
    state.ranking = AblationRanking(spec: run.spec.canonical, layer: state.layer,
                                    change: [Float](repeating: .nan, count: run.grid.count), done: 0, total: 0)
    return [.rankAblation(run.spec, layer: state.layer)]
  case .ablated(let spec, let request, let summary):
    if var probe = state.ablation, probe.spec == spec, probe.layer == request.layer, probe.patches.sorted() == request.patches {
      probe.summary = summary
      state.ablation = probe
    }
  case .rankingProgress(let ranking):
    if let current = state.ranking, current.spec == ranking.spec, current.layer == ranking.layer { state.ranking = ranking }
  default: break
  }
  return []
}

extension Worker {
  /// Reruns `spec` on `input` and then the blocks from the request's layer on without the dropped tokens.
  static func ablate(_ spec: MethodSpec, _ request: AblationRequest, model: ViTModel, input: ModelImage) -> Action {
    do {
      let plan = try MethodPlan(spec: spec, model: model)
      let result = try TokenAblation.run(request, pass: try input.run(plan).pass)
      let labels = plan.model.info.labels
      func label(_ i: Int) -> String { labels?[i] ?? "class \(i)" }
      guard let top = result.before.top(1).first, let d = result.deltas() else {
        return .showMessage("this model has no classifier head: there is no top-1 to change")
      }
      let after = result.after.top(1).first?.index
      return .ablated(spec: spec.canonical, request: request, summary: AblationSummary(
        label: label(top.index), probabilityChange: d.probability, logitChange: d.logit,
        newTop: after.flatMap { $0 == top.index ? nil : label($0) }, droppedTokens: result.droppedTokens.count,
        droppedPatches: result.droppedPatches.count))
    } catch {
      return .showMessage("ablation failed: \(error)")
    }
  }

  /// Ranks every token of `layer` by its ablation effect, reporting progress after each token.
  static func rank(_ spec: MethodSpec, layer: Int, model: ViTModel, input: ModelImage, report: (Action) -> Void) -> Action {
    do {
      let plan = try MethodPlan(spec: spec, model: model)
      let pass = try input.run(plan).pass
      let start = pass.state(after: layer == 0 ? nil : layer - 1)
      var ranking = AblationRanking(spec: spec.canonical, layer: layer, change: [Float](repeating: .nan, count: start.grid.count),
                                    done: 0, total: 0)
      let changes = try TokenAblation.ranking(layer: layer, pass: pass) { done, total in
        ranking.done = done; ranking.total = total
        if done % 8 == 0 && done < total { report(.rankingProgress(ranking)) }
        return true
      }
      for (token, change) in changes {
        for (p, t) in start.patchToken.enumerated() where Int(t) == token { ranking.change[p] = change }
      }
      ranking.done = changes.count; ranking.total = changes.count
      return .rankingProgress(ranking)
    } catch {
      return .showMessage("ranking failed: \(error)")
    }
  }
}
