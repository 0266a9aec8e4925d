// Fuzz target: MethodSpec.parse on the input as UTF-8 (invalid sequences repaired), makePolicy for depth 12, and for
// specs that parse: the canonical form must parse back to the same spec, and the method must run to the end on a tiny
// 12-block model through a MethodPlan (as every command does; upvit reads the toy model's importance file whatever
// path the input named, cascades get the toy image at each grid) with the weight-free MAC count (`flops --method`)
// agreeing with the forward pass wherever the method's counts do not depend on the data.
// Not checked: one-line messages (MethodSpecError quotes the spec, which comes from the command line, not a file).
import TokenMethods
import ViTEngine

let toyModel: ViTModel = {
  let path = fuzzScratch + "/toy.safetensors"
  writeFile(path, tinyCheckpoint(depth: 12, c: 8, a: 8, f: 16, cin: 1, p: 2, grid: 4, metadata: ["num_heads": "2"]))
  return try! ModelLoader.load(path: path)
}()

/// A deterministic toy image at any grid of the toy model.
func toyInput(_ grid: GridSize) -> ModelInput {
  let p = toyModel.shape.patchSize, h = grid.rows * p, w = grid.cols * p
  var state: UInt32 = 7
  let pixels = (0..<(h * w)).map { _ -> Float in
    state = state &* 1_664_525 &+ 1_013_904_223
    return Float(state >> 8) / Float(1 << 24) * 4 - 2
  }
  return ModelInput(channels: 1, height: h, width: w, pixels: pixels)
}

/// UP-ViT scores for the toy model (embedding 8, attention 8 and MLP 16 per block), distinct so selections are stable.
let toyImportancePath: String = {
  let path = fuzzScratch + "/toy.importance.json"
  func scores(_ n: Int, _ salt: Int) -> String { (0..<n).map { "\(Double(($0 * 7 + salt * 13) % 29) + 0.5)" }.joined(separator: ",") }
  let attention = (0..<12).map { "[\(scores(8, $0))]" }.joined(separator: ",")
  let mlp = (0..<12).map { "[\(scores(16, $0 + 12))]" }.joined(separator: ",")
  let json = #"{"format": "tokenscope-upvit-importance", "version": 1, "embed": ["# + scores(8, 99) + "], \"attention\": [\(attention)], \"mlp\": [\(mlp)]}"
  writeFile(path, Array(json.utf8))
  return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let spec: MethodSpec
  do { spec = try MethodSpec.parse(text) } catch { note("parse threw: \(error)"); return 0 }
  note("parsed \(spec.canonical)")
  _ = spec.makePolicy(depth: 12)
  do {
    let again = try MethodSpec.parse(spec.canonical)
    guard again == spec, again.canonical == spec.canonical else { finding("\(spec.canonical) parses back as \(again.canonical)") }
  } catch {
    finding("canonical form \(spec.canonical.debugDescription) does not parse: \(error)")
  }
  // Structural methods read the toy model's importance file; a cascade of huge grids is legal but not for a fuzzer's
  // time budget (512x512 tokens is a quarter of a million).
  var planned = spec
  if spec.level == .modelTransform {
    do { planned = try spec.setting("importance", to: toyImportancePath) } catch { finding("\(spec): cannot set importance: \(error)") }
  }
  if let cascade = spec.cascade, (cascade.grids.last ?? 0) > 16 { note("skipping a cascade up to \(cascade.grids.last!)"); return 0 }
  let plan: MethodPlan
  do { plan = try MethodPlan(spec: planned, model: toyModel) } catch let e as UPViTError {
    note("plan refused: \(e)")  // e.g. more heads than the toy model has: a clean error
    return 0
  } catch let e as MethodFileError {
    note("plan refused: \(e)")  // dymu:thresholds=auto (or a path): the toy model has no thresholds file
    return 0
  } catch {
    finding("MethodPlan failed for \(planned): \(error)")
  }
  let run: MethodRun
  do { run = try MethodRun.compute(plan: plan, native: toyModel.shape.grid) { toyInput($0) } } catch let e as MethodSpecError {
    note("run refused: \(e)")  // a VisionZip budget or DToMe list that does not fit the toy model: a usage error
    return 0
  } catch {
    finding("MethodRun.compute failed for \(planned): \(error)")
  }
  guard run.layers.count == 12, run.layers.allSatisfy({ $0.tokensOut >= 1 && $0.tokensOut <= $0.tokensIn }) else {
    finding("\(spec): bad layer views \(run.layers.map { ($0.tokensIn, $0.tokensOut) })")
  }
  if let cascade = plan.cascade, run.stages.isEmpty || run.stages.count > cascade.grids.count {
    finding("\(spec): \(run.stages.count) stages for \(cascade.grids.count) grids")
  }
  // flops --method: weight-free counts for the (pruned) toy shape and for DeiT-S must exist together and agree with
  // the pass (cascades add up several passes and are counted per stage instead).
  if plan.cascade == nil, let counted = MACCounter.planned(plan.model.shape, policy: plan.policy) {
    guard counted.total == run.totalMACs else {
      finding("\(spec): weight-free MACs \(counted.total) but the forward pass counted \(run.totalMACs)")
    }
    _ = MACCounter.planned(ModelShape.deit("deit-s")!, policy: plan.policy)
  }
  return 0
}
