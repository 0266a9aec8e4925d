// Which attention ranks the tokens in EViT, IdleViT and MSTM. They were written for models with a class token and rank
// by its attention; a SigLIP tower (or any average- or MAP-pooled model without one) has no such row, and reading row 0
// there would rank by one arbitrary patch's attention. On such models they rank by the mean attention each token
// receives, over every query row and head: the score the VisionZip spec names `mean`.
import ViTEngine

/// The ranking score of the CLS-attention methods.
public enum AttentionScore: String, Sendable, Hashable {
  /// `cls` where the model has a class token, else `mean`.
  case auto
  /// The class token's attention (the methods' official score).
  case cls
  /// The mean attention each token receives over all query rows and heads.
  case mean

  /// The shared `score` parameter; `auto` is left out of the canonical spec text, so specs written before it existed
  /// keep their form.
  static func parameter(official: String) -> MethodParameter {
    MethodParameter("score", .choice(["auto", "cls", "mean"]), default: "auto",
                    "auto: cls with a class token, mean without one; cls: \(official); mean: the mean attention each token receives over all query rows and heads",
                    recon: "mean is this tool's score for models without a class token (SigLIP, average-pooled towers); the official code knows only CLS",
                    omittedAtDefault: true)
  }

  /// The score in use on a sequence with `prefix` prefix tokens: a prefix always starts with the class token (the loader
  /// refuses registers or a distillation token without one), so no prefix means no class token.
  public func resolved(prefix: Int) -> AttentionScore {
    self == .auto ? (prefix > 0 ? .cls : .mean) : self
  }

  /// Refuses `cls` on a model without a class token.
  func validate(method: String, prefix: Int) throws(MethodSpecError) {
    if self == .cls, prefix == 0 {
      throw .inconsistent(method: method, key: "score", value: "cls", expected: "auto or mean: the model has no class token")
    }
  }
}

extension AttentionView {
  /// Per key: the class token's attention averaged over heads (`cls`), or the attention each key receives averaged over
  /// every query row and head (`mean`). `score` must be resolved.
  public func tokenScores(_ score: AttentionScore) -> [Float] {
    guard score == .mean else { return meanClassAttention() }
    var mean = [Float](repeating: 0, count: keys)
    mean.withUnsafeMutableBufferPointer { m in
      for row in 0..<(heads &* queries) {
        let p = probabilities.baseAddress! + row &* keys
        for j in 0..<keys { m[j] += p[j] }
      }
    }
    let inv = 1 / Float(heads * queries)
    return mean.map { $0 * inv }
  }
}

extension ProjectionView {
  /// IdleViT's pre-softmax score against every key j, heads averaged: the class token's q · k_j (`cls`), or the mean
  /// over all query rows of q_i · k_j (`mean`), which by linearity is the mean query's q̄ · k_j. `score` must be resolved.
  func queryKeyScores(_ score: AttentionScore) -> [Float] {
    score == .mean ? meanQueryOfAllTokensScores() : meanQueryKeyScores(query: 0)
  }
}

extension BlockRecord {
  /// One head's attention map for the views: the class token's row, or on a model without one the mean attention each
  /// key receives over every query row (what the CLS-free methods rank by).
  public func scoringAttention(head: Int, classToken: Bool) -> [Float] {
    if classToken { return classAttention(head: head) }
    var mean = [Float](repeating: 0, count: keys)
    let base = head * queries * keys
    for q in 0..<queries { for j in 0..<keys { mean[j] += probabilities[base + q * keys + j] } }
    return mean.map { $0 / Float(Swift.max(queries, 1)) }
  }
}
