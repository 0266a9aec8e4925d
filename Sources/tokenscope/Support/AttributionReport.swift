// The attribution parts of `report`: the attention rollout (--attribution rollout) and a token ablation (--ablate),
// added to the report's JSON and text without changing the rest of either.
import ArgumentParser
import NumberFormatting
import TokenMethods
import ViTEngine

enum AttributionMode: String, ExpressibleByArgument, CaseIterable {
  case rollout
}

enum AttributionReport {
  /// Parses LAYER:PATCHES, where PATCHES is `all`, a list of patch indices (row-major, `3,4,17`) or a rectangle
  /// `rows=A-B,cols=C-D` (inclusive); checks it against the grid and depth the image runs at.
  static func ablation(_ text: String, grid: GridSize, depth: Int) throws -> AblationRequest {
    let syntax = "--ablate '\(text)': expected LAYER:PATCHES, with PATCHES 'all', patch indices like 3,4,17, or rows=A-B,cols=C-D"
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, let layer = Int(parts[0]) else { throw CLIError(syntax, code: CLIError.usage) }
    guard (0..<depth).contains(layer) else {
      throw CLIError("--ablate '\(text)': layer \(layer) is outside the model's blocks 0...\(depth - 1)", code: CLIError.usage)
    }
    let body = String(parts[1])
    var patches: [Int]
    if body == "all" {
      patches = Array(0..<grid.count)
    } else if body.hasPrefix("rows=") {
      let fields = body.split(separator: ",")
      guard fields.count == 2, fields[1].hasPrefix("cols="),
            let rows = range(fields[0].dropFirst(5)), let cols = range(fields[1].dropFirst(5)) else {
        throw CLIError(syntax, code: CLIError.usage)
      }
      guard rows.upperBound < grid.rows, cols.upperBound < grid.cols else {
        throw CLIError("--ablate '\(text)': the rectangle leaves the \(grid.rows)x\(grid.cols) patch grid", code: CLIError.usage)
      }
      patches = rows.flatMap { r in cols.map { r * grid.cols + $0 } }
    } else {
      let values = body.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw CLIError(syntax, code: CLIError.usage) }
      patches = values.map { $0! }
      if let bad = patches.first(where: { !(0..<grid.count).contains($0) }) {
        throw CLIError("--ablate '\(text)': patch \(bad) is outside the grid's patches 0...\(grid.count - 1)", code: CLIError.usage)
      }
    }
    patches = Array(Set(patches)).sorted()
    return AblationRequest(layer: layer, patches: patches)
  }

  /// "A-B" (or "A") as a closed range of non-negative integers.
  private static func range(_ text: Substring) -> ClosedRange<Int>? {
    let ends = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
    guard (1...2).contains(ends.count), let a = ends.first!, let b = ends.last!, a >= 0, a <= b else { return nil }
    return a...b
  }

  static func ablate(_ request: AblationRequest, pass: ForwardPass) throws -> AblationResult {
    do { return try TokenAblation.run(request, pass: pass) } catch { throw CLIError(error.description, code: CLIError.usage) }
  }

  /// The report with `rollout_query`, `rollout` (the final rollout, max-normalised) and every layer's `rollout`.
  static func adding(rollout: AttentionRollout, to report: JSONValue) -> JSONValue {
    guard var members = report.objectValue else { return report }
    func values(_ v: [Float]) -> JSONValue { JSONValue(AttentionRollout.maxNormalised(v)) }
    for (i, member) in members.enumerated() where member.0 == "layers" {
      guard let layers = member.1.arrayValue else { continue }
      members[i].1 = .array(layers.enumerated().map { l, layer in
        guard var fields = layer.objectValue, l < rollout.layers.count else { return layer }
        fields.append(("rollout", values(rollout.layers[l])))
        return .object(fields)
      })
    }
    members.append(("rollout_query", .string(rollout.query.rawValue)))
    members.append(("rollout_grid", JSONValue([rollout.grid.rows, rollout.grid.cols])))
    members.append(("rollout", values(rollout.final)))
    return .object(members)
  }

  static func adding(ablation: AblationResult, labels: [String]?, to report: JSONValue) -> JSONValue {
    guard var members = report.objectValue else { return report }
    let deltas = ablation.deltas()
    var top1: JSONValue = .null
    if let top = ablation.before.top(1).first {
      let label = labels?[top.index] ?? "class \(top.index)"
      top1 = .object([("index", JSONValue(top.index)), ("label", .string(label)), ("probability", JSONValue(top.probability))])
    }
    members.append(("ablation", .object([
      ("layer", JSONValue(ablation.request.layer)), ("patches", JSONValue(ablation.request.patches)),
      ("dropped_tokens", JSONValue(ablation.droppedTokens)), ("dropped_patches", JSONValue(ablation.droppedPatches)),
      ("logits_before", ablation.before.logits.map { JSONValue($0) } ?? .null),
      ("logits_after", ablation.after.logits.map { JSONValue($0) } ?? .null),
      ("top1_before", top1),
      ("top1_probability_change", deltas.map { JSONValue($0.probability) } ?? .null),
      ("top1_logit_change", deltas.map { JSONValue($0.logit) } ?? .null),
      ("features_after", JSONValue(ablation.after.classFeatures)),
    ])))
    return .object(members)
  }

  /// The text report's extra lines: the rollout's strongest patches, and the ablation's effect.
  static func text(rollout: AttentionRollout?, ablation: AblationResult?, labels: [String]?) -> String {
    var lines: [String] = []
    if let rollout {
      let normalised = AttentionRollout.maxNormalised(rollout.final)
      let strongest = normalised.indices.sorted { normalised[$0] > normalised[$1] || (normalised[$0] == normalised[$1] && $0 < $1) }.prefix(5)
      let cells = strongest.map { p in "(\(p / rollout.grid.cols),\(p % rollout.grid.cols)) \(formatFixed(Double(normalised[p]), decimals: 2))" }
      lines.append("rollout (\(rollout.query.rawValue), max 1) strongest patches (row,col): \(cells.joined(separator: ", "))")
    }
    if let ablation {
      var line = "ablation from block \(ablation.request.layer): dropped \(ablation.droppedTokens.count) tokens holding \(ablation.droppedPatches.count) patches"
      if let top = ablation.before.top(1).first, let d = ablation.deltas() {
        let label = labels?[top.index] ?? "class \(top.index)"
        line += "; \(label) p \(formatFixed(Double(top.probability), decimals: 4)) -> \(formatFixed(Double(top.probability + d.probability), decimals: 4)), logit change \(formatFixed(Double(d.logit), decimals: 4))"
        if let after = ablation.after.top(1).first, after.index != top.index {
          line += "; top-1 now \(labels?[after.index] ?? "class \(after.index)")"
        }
      }
      lines.append(line)
    }
    return lines.joined(separator: "\n")
  }
}
