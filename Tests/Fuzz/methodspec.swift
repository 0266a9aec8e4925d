// Fuzz target: MethodSpec.parse on the input as UTF-8 (invalid sequences repaired), makePolicy for depth 12, and for
// specs that parse: the canonical form must parse back to the same spec, and the policy must run to the end on a tiny
// 12-block model (MethodRun.compute, as the explorer does) with the weight-free MAC count (`flops --method`) agreeing
// with the forward pass wherever the method's counts do not depend on the data.
// Not checked: one-line messages (MethodSpecError quotes the spec, which comes from the command line, not a file).
import TokenMethods
import ViTEngine

let toyModel: ViTModel = {
  let path = fuzzScratch + "/toy.safetensors"
  writeFile(path, tinyCheckpoint(depth: 12, c: 8, a: 8, f: 16, cin: 1, p: 2, grid: 4, metadata: ["num_heads": "2"]))
  return try! ModelLoader.load(path: path)
}()

let toyInput: ModelInput = {
  let (h, w) = toyModel.info.inputSize
  var state: UInt32 = 7
  let pixels = (0..<(h * w)).map { _ -> Float in
    state = state &* 1_664_525 &+ 1_013_904_223
    return Float(state >> 8) / Float(1 << 24) * 4 - 2
  }
  return ModelInput(channels: 1, height: h, width: w, pixels: pixels)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let spec: MethodSpec
  do { spec = try MethodSpec.parse(text) } catch { note("parse threw: \(error)"); return 0 }
  note("parsed \(spec.canonical)")
  let policy: any TokenPolicy
  do { policy = try spec.makePolicy(depth: 12) } catch { finding("parsed spec \(spec) fails makePolicy(depth: 12): \(error)") }
  do {
    let again = try MethodSpec.parse(spec.canonical)
    guard again == spec, again.canonical == spec.canonical else { finding("\(spec.canonical) parses back as \(again.canonical)") }
  } catch {
    finding("canonical form \(spec.canonical.debugDescription) does not parse: \(error)")
  }
  let run: MethodRun
  do { run = try MethodRun.compute(model: toyModel, input: toyInput, spec: spec) } catch {
    finding("MethodRun.compute failed for \(spec): \(error)")
  }
  guard run.layers.count == 12, run.layers.allSatisfy({ $0.tokensOut >= 1 && $0.tokensOut <= $0.tokensIn }) else {
    finding("\(spec): bad layer views \(run.layers.map { ($0.tokensIn, $0.tokensOut) })")
  }
  // flops --method: weight-free counts for the toy shape and for DeiT-S must exist together and agree with the pass.
  if let counted = WeightFreeMACs.count(toyModel.shape, policy: policy) {
    guard counted.total == run.totalMACs else {
      finding("\(spec): weight-free MACs \(counted.total) but the forward pass counted \(run.totalMACs)")
    }
    _ = WeightFreeMACs.count(ModelShape.deit("deit-s")!, policy: policy)
  }
  return 0
}
