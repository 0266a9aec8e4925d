// The logit lens per token: the final norm and classifier head applied to every token at a layer, as if the model
// read that token instead of the class token and stopped there. The explorer already shows it for the class token
// ("if it stopped here"); per token it shows which tokens already carry the answer.
import ViTEngine

public enum LogitLens {
  /// Why `model` has no per-token lens, or nil when it has one.
  public static func unavailable(_ model: ViTModel) -> String? {
    guard model.head != nil else { return "this model has no classifier head, so its tokens have no logits to read" }
    if model.shape.headInput != .classToken {
      return "this model's head reads the class token and the patch mean together, so a single token has no logits"
    }
    // Average and attention pooling read every token through their own norm or probe: one token alone is not what
    // the head was trained on.
    guard model.shape.pooling == .cls, model.norm != nil else {
      return "this model pools its tokens (\(model.shape.pooling.rawValue)) before the head, so a single token has no logits of its own"
    }
    return nil
  }

  /// Per token of `state`: the top-1 class of the final norm and head applied to that token alone (distilled models:
  /// the mean of both heads, as for the class token); nil when the model has no per-token lens.
  public static func topClass(model: ViTModel, state: TokenState) -> [Int]? {
    guard unavailable(model) == nil, let head = model.head, let norm = model.norm else { return nil }
    let normed = norm(state.x)  // N x C
    var logits = head(normed)  // N x K
    if let dist = model.headDist {
      let other = dist(normed)
      for i in logits.data.indices { logits.data[i] = (logits.data[i] + other.data[i]) / 2 }
    }
    let k = logits.cols
    return (0..<logits.rows).map { t in
      var best = 0
      for j in 1..<k where logits.data[t * k + j] > logits.data[t * k + best] { best = j }
      return best
    }
  }
}
