// Fuzz target: the strict JSON reader and the configuration readers of ModelLoader.
// The first input byte picks where the rest goes (byte % 4):
//   0: config.json beside a tiny timm checkpoint without __metadata__ (heads inferred, so loading reaches every reader)
//   1: config.json beside a tiny Hugging Face ViT checkpoint
//   2: split at the first NUL byte: config.json, then preprocessor_config.json, beside the Hugging Face checkpoint
//   3: spliced into a tiny timm checkpoint's header as the value of "__metadata__" (the metadata path)
// In every mode the bytes also go through JSONParser.parse directly, and whatever parses must serialise to JSON
// that parses again to the same serialisation (the writer is used for reports and for SafetensorsWriter headers).
// Findings: crashes, hangs, ASan reports, non-one-line errors, and loaded models that break checkLoadedModel.
import ViTEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct Checkpoints {
  let timmDir: String, hfDir: String, metaDir: String
  /// The timm checkpoint's header after its opening '{' and the tensor bytes, for splicing in __metadata__.
  let headerTail: [UInt8], tensorData: [UInt8]
}

let checkpoints: Checkpoints = {
  let timmDir = fuzzScratch + "/timm", hfDir = fuzzScratch + "/hf", metaDir = fuzzScratch + "/meta"
  for d in [timmDir, hfDir, metaDir] { makeDirectory(d) }
  let timm = tinyCheckpoint()
  writeFile(timmDir + "/model.safetensors", timm)
  writeFile(hfDir + "/model.safetensors", tinyCheckpoint(huggingFace: true))
  var n = 0
  for i in (0..<8).reversed() { n = n << 8 | Int(timm[i]) }
  precondition(timm[8] == UInt8(ascii: "{"))
  return Checkpoints(timmDir: timmDir, hfDir: hfDir, metaDir: metaDir,
                     headerTail: Array(timm[9..<(8 + n)]), tensorData: Array(timm[(8 + n)...]))
}()

func checkJSONRoundTrip(_ bytes: ArraySlice<UInt8>) {
  let value: JSONValue
  do { value = try JSONParser.parse(Array(bytes)) } catch { checkOneLine(error, "JSONParser"); return }
  for pretty in [false, true] {
    let text = value.serialized(pretty: pretty)
    do {
      let again = try JSONParser.parse(text)
      guard again.serialized(pretty: pretty) == text else {
        finding("serialisation is not stable: \(text.debugDescription) -> \(again.serialized(pretty: pretty).debugDescription)")
      }
    } catch {
      finding("serialised JSON does not parse again (\(error)): \(text.debugDescription)")
    }
  }
}

func load(_ path: String) {
  do {
    checkLoadedModel(try ModelLoader.load(path: path))
  } catch {
    checkOneLine(error, "ModelLoader")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let bytes = inputBytes(data, size)
  let rest = bytes[1...]
  let c = checkpoints
  switch bytes[0] % 4 {
  case 0:
    checkJSONRoundTrip(rest)
    writeFile(c.timmDir + "/config.json", rest)
    load(c.timmDir + "/model.safetensors")
    unlink(c.timmDir + "/config.json")
  case 1:
    checkJSONRoundTrip(rest)
    writeFile(c.hfDir + "/config.json", rest)
    load(c.hfDir + "/model.safetensors")
    unlink(c.hfDir + "/config.json")
  case 2:
    let nul = rest.firstIndex(of: 0) ?? rest.endIndex
    let config = rest[..<nul], preprocessor = nul < rest.endIndex ? rest[(nul + 1)...] : []
    checkJSONRoundTrip(config)
    checkJSONRoundTrip(preprocessor)
    writeFile(c.hfDir + "/config.json", config)
    writeFile(c.hfDir + "/preprocessor_config.json", preprocessor)
    load(c.hfDir + "/model.safetensors")
    unlink(c.hfDir + "/config.json")
    unlink(c.hfDir + "/preprocessor_config.json")
  default:
    checkJSONRoundTrip(rest)
    let header = Array("{\"__metadata__\":".utf8) + rest + [UInt8(ascii: ",")] + c.headerTail
    var file: [UInt8] = []
    var n = UInt64(header.count)
    for _ in 0..<8 { file.append(UInt8(n & 0xFF)); n >>= 8 }
    file += header
    file += c.tensorData
    writeFile(c.metaDir + "/model.safetensors", file)
    load(c.metaDir + "/model.safetensors")
  }
  return 0
}
