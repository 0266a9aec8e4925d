// `eval --relevance`: per method, the mean over images of the share of the baseline's final attention-rollout mass
// held by patches the method still keeps as their own token after its last block (AttentionRollout.relevanceKept).
// One extra pass over the images runs the baseline once per image and each method beside it.
import ImageInput
import TokenMethods
import ViTEngine

enum RelevanceEval {
  /// Sets `relevanceKept` on every result whose method runs at the image's own grid; cascades (which answer at a grid
  /// of their own) keep nil.
  static func fill(_ results: inout [EvalCommand.EvalResult], model: ViTModel, context: EvalContext, indices: [Int]) throws {
    let plans = try results.map { r in r.exitShares == nil ? try makePlan(r.spec, model: model) : nil }
    let baseline = try makePlan(.baseline, model: model)
    let (shares, _) = try context.forEachImage(indices, label: "relevance") { image, _ -> [Float?] in
      let reference = AttentionRollout.finalRow(pass: try image.run(baseline).pass)
      return try plans.map { plan -> Float? in
        guard let plan else { return nil }
        let outcome = try image.run(plan)
        guard outcome.pass.grid == image.nativeGrid, let last = outcome.pass.records.last else { return nil }
        return AttentionRollout.relevanceKept(baseline: reference, states: last.output.patchState)
      }
    }
    for i in results.indices {
      let values = shares.compactMap { $0[i] }
      guard !values.isEmpty, values.count == shares.count else { continue }
      results[i].relevanceKept = values.reduce(0) { $0 + Double($1) } / Double(values.count)
    }
  }
}
