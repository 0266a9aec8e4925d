// The shared bookkeeping of every method that changes the sequence: given where each old token goes, update
// provenance (which token holds each patch) and patch states. Methods compute the new features and sizes; this keeps
// the maps consistent with them.
import ViTEngine

/// What happens to an old token's patches.
enum TokenFate {
  /// The token survives as itself (its patches keep their state).
  case stays
  /// The token is merged into another (ToMe, MSTM): its patches become `merged`.
  case merged
  /// The token is folded into EViT's fused token: its patches become `fused`.
  case fused
  /// The token is dropped: its patches become `pruned` and are held by no token.
  case pruned
}

extension TokenState {
  /// Replaces the sequence with `x`/`size`, where old token t now lives at `newIndex[t]` (-1 when pruned).
  mutating func reorganize(x newX: Matrix, size newSize: [Float], newIndex: [Int], fate: [TokenFate]) {
    precondition(newIndex.count == tokenCount && fate.count == tokenCount, "reorganize: \(newIndex.count) indices for \(tokenCount) tokens")
    precondition(newSize.count == newX.rows, "reorganize: \(newSize.count) sizes for \(newX.rows) tokens")
    for p in 0..<patchToken.count {
      let t = Int(patchToken[p])
      guard t >= 0 else { continue }
      patchToken[p] = Int32(newIndex[t])
      switch fate[t] {
      case .stays: break
      case .merged: if patchState[p] == .kept { patchState[p] = .merged }
      case .fused: patchState[p] = .fused
      case .pruned: patchState[p] = .pruned; patchToken[p] = -1
      }
    }
    x = newX
    size = newSize
  }
}

// MARK: Parameter parsing shared by the method descriptors

public enum Parse {
  static func int(_ params: [String: String], _ key: String, method: String, range: ClosedRange<Int>) throws(MethodSpecError) -> Int {
    guard let v = Int(params[key] ?? ""), range.contains(v) else {
      throw MethodSpecError("\(method): \(key)=\(params[key] ?? "") is not an integer in \(range.lowerBound)...\(range.upperBound)")
    }
    return v
  }

  static func fraction(_ params: [String: String], _ key: String, method: String) throws(MethodSpecError) -> Double {
    guard let v = Double(params[key] ?? ""), v > 0, v <= 1 else {
      throw MethodSpecError("\(method): \(key)=\(params[key] ?? "") must be a number in (0, 1]")
    }
    return v
  }

  static func bool(_ params: [String: String], _ key: String, method: String) throws(MethodSpecError) -> Bool {
    switch params[key]?.lowercased() {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: throw MethodSpecError("\(method): \(key)=\(params[key] ?? "") must be true or false")
    }
  }

  static func choice(_ params: [String: String], _ key: String, method: String, _ options: [String]) throws(MethodSpecError) -> String {
    guard let v = params[key]?.lowercased(), options.contains(v) else {
      throw MethodSpecError("\(method): \(key)=\(params[key] ?? "") must be one of \(options.joined(separator: ", "))")
    }
    return v
  }

  /// Block lists: "3/6/9", ranges "3-11", mixed "0-2/9", or "" (none). 0-based. Public for other block options
  /// (`render --layers`), so every block list reads the same way.
  public static func layers(_ params: [String: String], _ key: String, method: String) throws(MethodSpecError) -> [Int] {
    let text = params[key] ?? ""
    if text.isEmpty || text == "none" { return [] }
    var out: [Int] = []
    for part in text.split(separator: "/") {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 1, let v = Int(bounds[0]), v >= 0 { out.append(v); continue }
      if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, b >= a, b - a < 10_000 {
        out += Array(a...b); continue
      }
      throw MethodSpecError("\(method): \(key)=\(text): expected block indices like 3/6/9 or a range like 3-11")
    }
    return Array(Set(out)).sorted()
  }
}

extension Parse {
  /// DVT's cascade: grids "7/10/14" (increasing, each 1...512) and thresholds "0.8/0.7" (one per stage but the last,
  /// each in [0, 2]; a threshold above 1 never exits, which calibration uses for a stage that should keep everything).
  static func cascade(_ params: [String: String]) throws(MethodSpecError) -> Cascade {
    let gridText = params["grids"] ?? "", thresholdText = params["thresholds"] ?? ""
    let grids = gridText.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
    guard !grids.isEmpty, grids.count <= 8, grids.allSatisfy({ $0 != nil && (1...512).contains($0!) }) else {
      throw MethodSpecError("dvt: grids=\(gridText): expected 1 to 8 grid sides in 1...512 like 7/10/14")
    }
    let sides = grids.map { $0! }
    guard zip(sides, sides.dropFirst()).allSatisfy({ $0 < $1 }) else {
      throw MethodSpecError("dvt: grids=\(gridText): stages must grow (each grid larger than the one before)")
    }
    let thresholds = thresholdText.isEmpty ? [] : thresholdText.split(separator: "/", omittingEmptySubsequences: false).map { Float($0) }
    guard thresholds.count == sides.count - 1, thresholds.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 2 }) else {
      throw MethodSpecError("dvt: thresholds=\(thresholdText): expected \(sides.count - 1) probabilities in [0, 1] separated by / (one per stage but the last, which always exits; above 1: never exit)")
    }
    return Cascade(grids: sides, thresholds: thresholds.map { $0! })
  }

  /// UP-ViT's targets: heads "keep", "2" or one per block "4/4/2/..."; mlp-ratio "keep" or a number > 0; embed
  /// "keep" or a width.
  public static func pruningTargets(_ params: [String: String]) throws(MethodSpecError) -> PruningTargets {
    var targets = PruningTargets()
    let heads = params["heads"] ?? "keep"
    if heads != "keep" {
      let values = heads.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
      guard values.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 4096 }), !values.isEmpty else {
        throw MethodSpecError("upvit: heads=\(heads): expected keep, a head count, or one count per block like 4/4/2")
      }
      targets.heads = values.map { $0! }
    }
    let ratio = params["mlp-ratio"] ?? "keep"
    if ratio != "keep" {
      guard let r = Double(ratio), r > 0, r <= 64 else {
        throw MethodSpecError("upvit: mlp-ratio=\(ratio): expected keep or a number in (0, 64]")
      }
      targets.mlpRatio = r
    }
    let embed = params["embed"] ?? "keep"
    if embed != "keep" {
      guard let e = Int(embed), e >= 1, e <= 1 << 16 else { throw MethodSpecError("upvit: embed=\(embed): expected keep or a width") }
      targets.embed = e
    }
    return targets
  }
}
