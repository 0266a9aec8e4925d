// Regression tests for what the fuzz targets in Tests/Fuzz found (see Tests/Fuzz/README.md), rebuilt here from the
// vit fixture. Each failed (overflowingInputSizeIsRefused: crashed) before its fix; plausibleInputSizesStillLoad is
// the control that passes on both sides.
import Testing
import TestSupport
@testable import ViTEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
  /// The vit fixture (patch 8, pos_embed 1 + 16, metadata input_size "3,32,32") rewritten into its own folder with
  /// new metadata, plus an optional config.json beside it. Its own folder, so no other test sees the config.json.
  func checkpoint(_ name: String, metadata: [String: String], configJSON: String? = nil) throws -> String {
    let file = try SafetensorsFile(path: modelFixture("vit"))
    var writer = SafetensorsWriter()
    writer.metadata = metadata
    for n in file.names.sorted() { writer.add(n, shape: file.tensors[n]!.shape, floats: try file.floats(n)) }
    let dir = temporaryPath("fuzz-\(name)")
    mkdir(dir, 0o755)
    try writer.write(to: dir + "/model.safetensors")
    if let configJSON { _ = writeBytes(Array(configJSON.utf8), "fuzz-\(name)/config.json") }
    return dir + "/model.safetensors"
  }

  func expectRefused(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
      let model = try ModelLoader.load(path: path)
      Issue.record("loaded with grid \(model.shape.grid) and input size \(model.info.inputSize)", sourceLocation: sourceLocation)
    } catch {
      #expect(error.description.contains("input_size"), "\(error.description)", sourceLocation: sourceLocation)
      #expect(error.description.hasPrefix(path), "\(error.description)", sourceLocation: sourceLocation)
      #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    }
  }

  /// Same unchecked input_size as hugeInputSizeFromConfigJSONIsRefused (seen while writing fuzz-config, not reported
  /// by a run): metadata "3,-32,-32" gave (-4) * (-4) = 16 grid positions, so the model loaded with grid -4x-4 and
  /// input size -32x-32, which Preprocessing turns into a negative crop.
  @Test func negativeInputSizeIsRefused() throws {
    expectRefused(try checkpoint("negative", metadata: ["num_heads": "2", "input_size": "3,-32,-32"]))
  }

  /// Same unchecked input_size (seen while writing fuzz-config, not reported by a run): 2^42 overflowed
  /// (h / p) * (w / p) in the grid search, an arithmetic-overflow trap rather than an error.
  @Test func overflowingInputSizeIsRefused() throws {
    expectRefused(try checkpoint("overflow", metadata: ["num_heads": "2", "input_size": "3,4398046511104,4398046511104"]))
  }

  /// fuzz-config, seed huge_input_size: a config.json input_size of 1000000 became the model's input size, which
  /// Preprocessing would then allocate (3 x 10^12 bytes) for every image.
  @Test func hugeInputSizeFromConfigJSONIsRefused() throws {
    expectRefused(try checkpoint("huge", metadata: ["num_heads": "2"],
                                 configJSON: #"{"pretrained_cfg": {"input_size": [3, 1000000, 1000000]}}"#))
  }

  /// Sizes within the cap still load as before (the fixture's own 32x32, and another resolution).
  @Test func plausibleInputSizesStillLoad() throws {
    let native = try ModelLoader.load(path: try checkpoint("native", metadata: ["num_heads": "2", "input_size": "3,32,32"]))
    #expect(native.info.inputSize == (32, 32) && native.shape.grid == GridSize(rows: 4, cols: 4))
    let other = try ModelLoader.load(path: try checkpoint("other", metadata: ["num_heads": "2", "input_size": "3,64,48"]))
    #expect(other.info.inputSize == (64, 48) && other.shape.grid == GridSize(rows: 4, cols: 4))
  }

  /// fuzz-config, seed numbers (JSON round trip): integral numbers of 10^15 and more that Float represents exactly were
  /// written in Float's short form, so 2^53 was serialised as 9.007199e+15 and read back as 9007199000000000.
  @Test func bigIntegersSerialiseExactly() throws {
    for value: Double in [9_007_199_254_740_992, -9_007_199_254_740_992, 1e15, 1_152_921_504_606_846_976, 3.4028234663852886e38] {
      let text = JSONValue.array([.number(value)]).serialized(pretty: false)
      #expect(try JSONParser.parse(text) == .array([.number(value)]), "\(value) serialised as \(text)")
    }
    // Unchanged: small integers and Float-derived fractions.
    #expect(JSONValue.array([3, JSONValue(Float(0.485)), .number(1e14)]).serialized(pretty: false) == "[3,0.485,100000000000000]")
  }
}
