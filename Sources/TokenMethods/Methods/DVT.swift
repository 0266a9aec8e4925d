// DVT: Not All Images are Worth 16x16 Words (Wang et al., NeurIPS 2021). DVT trains a cascade of ViTs at growing
// token grids and stops at the first whose softmax confidence passes a threshold. Its checkpoints are three trained
// models (with feature and relation reuse between them); this is a training-free emulation [recon] with one model:
// stage s runs it on the image at grid `grids[s]`, position embeddings resampled as timm does, and nothing is reused.
import ViTEngine

/// DVT's typed configuration.
public struct DVT: MethodConfiguration, Hashable {
  public var cascade: Cascade

  public static let descriptor = MethodDescriptor(
    name: "dvt",
    summary: "DVT early exit [recon]: one model run on growing token grids; stop at the first stage whose top softmax probability reaches its threshold",
    level: .cascade,
    parameters: [
      MethodParameter("thresholds", .list(.real(0...2), count: 0...7), default: "0.8/0.7",
                      "exit thresholds on the maximum softmax probability, one per stage but the last (which always exits); above 1: never exit"),
      MethodParameter("grids", .list(.integer(1...512), count: 1...8), default: "7/10/14",
                      "token grid side of each stage, growing; the image is preprocessed at grid x patch pixels and the position embeddings resampled as timm does"),
    ],
    reconNotes: [
      "emulation: the real DVT trains three models at three resolutions; here one model runs at three grids",
      "no feature or relation reuse between stages: both are learned",
    ],
    sweep: SweepAxis(key: "thresholds", values: ["0.9/0.9", "0.85/0.85", "0.8/0.8", "0.8/0.7", "0.7/0.6", "0.6/0.5", "0.5/0.4"]),
    step: .alongSweep
  ) { v throws(MethodSpecError) in
    let grids = v.list("grids").map { $0.intValue! }
    let thresholds = v.list("thresholds").map { Float($0.doubleValue!) }
    guard zip(grids, grids.dropFirst()).allSatisfy({ $0 < $1 }) else {
      throw .inconsistent(method: "dvt", key: "grids", value: v["grids"].description,
                          expected: "stages that grow (each grid larger than the one before)")
    }
    guard thresholds.count == grids.count - 1 else {
      throw .inconsistent(method: "dvt", key: "thresholds", value: v["thresholds"].description,
                          expected: "\(grids.count - 1) probabilities in [0, 1] separated by / (one per stage but the last, which always exits; above 1: never exit)")
    }
    return DVT(cascade: Cascade(grids: grids, thresholds: thresholds))
  }

  public func action(depth: Int) -> MethodAction { .cascade(cascade) }

  /// DVT is defined on class-token ViTs: its stages hand the class token's features and attention to the next.
  public func validate(grid: GridSize, prefix: Int, depth: Int) throws(MethodSpecError) {
    if prefix == 0 {
      throw .inconsistent(method: "dvt", key: "model", value: "no class token",
                          expected: "a model with a class token: DVT's stages pass the class token's features and relations on")
    }
  }
}

/// DVT's cascade, emulated with one model [recon]: stage s runs the model on the image at grid
/// `grids[s]` (position embeddings resampled as timm does) and stops when its maximum softmax probability reaches
/// `thresholds[s]`; the last stage always exits.
public struct Cascade: Sendable, Hashable {
  public let grids: [Int]
  public let thresholds: [Float]
  public init(grids: [Int], thresholds: [Float]) {
    precondition(thresholds.count == grids.count - 1, "Cascade: \(thresholds.count) thresholds for \(grids.count) grids")
    self.grids = grids; self.thresholds = thresholds
  }

  /// Whether stage `s` ends the cascade with this confidence (the last stage always does).
  public func exits(stage s: Int, confidence: Float) -> Bool { s >= thresholds.count || confidence >= thresholds[s] }

  /// The stage a run with these per-stage confidences exits at (confidences of stages run, in order).
  public func exitStage(confidences: [Float]) -> Int {
    for (s, c) in confidences.enumerated() where exits(stage: s, confidence: c) { return s }
    return confidences.count - 1
  }
}

