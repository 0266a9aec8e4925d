// Every class of bad input the README's table lists, through the binary: a one-line message naming the file, tensor
// or field, exit 64/65/66, within 10 s and 4 GiB of address space (ulimit -v), never a signal. Each run must also
// reproduce its README row exactly (exit code and message), so the table cannot drift from what the binary says.
import Foundation
import Testing
import TestSupport

struct BadInput: CustomTestStringConvertible, Sendable {
  let group: String, what: String
  /// File name and bytes to write (nil: the arguments name everything).
  let file: (name: String, bytes: [UInt8])?
  /// Arguments; "FILE" is replaced by the written file's path.
  let arguments: [String]
  let code: Int32
  var testDescription: String { "\(group): \(what)" }
}

/// The grey_p2 fixture checkpoint, its header parsed, so that variants can be made by editing it.
nonisolated(unsafe) let validCheckpoint: (header: [String: Any], data: [UInt8]) = {
  let bytes = [UInt8](try! Data(contentsOf: URL(fileURLWithPath: modelFixture("grey_p2"))))
  let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
  let header = try! JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
  return (header, Array(bytes[(8 + n)...]))
}()

func safetensorsBytes(_ header: [String: Any], _ data: [UInt8]) -> [UInt8] {
  let h = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
  var n = UInt64(h.count), out: [UInt8] = []
  for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
  return out + h + data
}

func editedCheckpoint(_ edit: (inout [String: Any]) -> Void) -> [UInt8] {
  var header = validCheckpoint.header
  edit(&header)
  return safetensorsBytes(header, validCheckpoint.data)
}

func editTensor(_ name: String, _ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
  { header in
    var entry = header[name] as! [String: Any]
    edit(&entry)
    header[name] = entry
  }
}

/// A PNG with an IHDR for width x height (8-bit grey) and one tiny IDAT, CRCs right unless `breakCRC`.
func pngBytes(width: UInt32, height: UInt32, breakCRC: Bool = false) -> [UInt8] {
  func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
  func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
    let typed = Array(type.utf8) + body
    var crc = crc32(typed[...])
    if breakCRC && type == "IHDR" { crc ^= 1 }
    return be(UInt32(body.count)) + typed + be(crc)
  }
  let ihdr = be(width) + be(height) + [8, 0, 0, 0, 0]
  // zlib stream of one filter byte + one grey pixel (a 1x1 image's data; wrong for others, which must fail cleanly).
  let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]
  return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", [])
}

/// A progressive JPEG header (SOI, SOF2 for width x height, 3 components) and nothing after it.
func progressiveJPEGHeader(width: UInt16, height: UInt16) -> [UInt8] {
  let sof: [UInt8] = [0xFF, 0xC2, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF),
                      0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
  let dqt: [UInt8] = [0xFF, 0xDB, 0x00, 0x43, 0x00] + [UInt8](repeating: 1, count: 64)
  let dqt1: [UInt8] = [0xFF, 0xDB, 0x00, 0x43, 0x01] + [UInt8](repeating: 1, count: 64)
  // One DC Huffman table with a single 1-bit code, and a DC-first scan of all components: the header is complete.
  let dht: [UInt8] = [0xFF, 0xC4, 0x00, 0x14, 0x00, 1] + [UInt8](repeating: 0, count: 15) + [0]
  let sos: [UInt8] = [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00]
  return [0xFF, 0xD8] + dqt + dqt1 + sof + dht + sos + [0x00, 0x00, 0xFF, 0xD9]
}

let badInputs: [BadInput] = {
  let model = modelFixture("grey_p2"), image = modelFixture("grey_p2", "input.png")
  func checkpoint(_ what: String, _ name: String, _ bytes: [UInt8]) -> BadInput {
    BadInput(group: "checkpoint", what: what, file: (name, bytes), arguments: ["inspect", "FILE"], code: 65)
  }
  func png(_ what: String, _ name: String, _ bytes: [UInt8]) -> BadInput {
    BadInput(group: "image", what: what, file: (name, bytes), arguments: ["report", "FILE", "--model", model], code: 65)
  }
  let valid = safetensorsBytes(validCheckpoint.header, validCheckpoint.data)
  let validPNG = [UInt8](try! Data(contentsOf: URL(fileURLWithPath: image)))
  return [
    checkpoint("empty file", "empty.safetensors", []),
    checkpoint("truncated in the tensor data", "truncated.safetensors", Array(valid.prefix(valid.count / 2))),
    checkpoint("header length past the end of the file", "header-past-eof.safetensors", [0x00, 0x10, 0, 0, 0, 0, 0, 0] + Array(valid[8..<200])),
    checkpoint("header that is not JSON", "bad-json.safetensors", Array("\u{10}\0\0\0\0\0\0\0{\"a\": [1, 2,,]}  ".utf8)),
    checkpoint("negative offsets", "negative.safetensors", editedCheckpoint(editTensor("cls_token") { $0["data_offsets"] = [-128, 0] })),
    checkpoint("overlapping offsets", "overlap.safetensors", editedCheckpoint { h in
      let other = (h["norm.bias"] as! [String: Any])["data_offsets"]!
      editTensor("norm.weight") { $0["data_offsets"] = other }(&h)
    }),
    checkpoint("offsets past the data", "out-of-range.safetensors", editedCheckpoint(editTensor("norm.bias") { $0["data_offsets"] = [0, 1 << 40] })),
    checkpoint("shape that does not match the bytes", "shape-bytes.safetensors", editedCheckpoint(editTensor("norm.bias") { $0["shape"] = [31] })),
    checkpoint("shape whose size overflows", "overflow.safetensors", editedCheckpoint(editTensor("norm.bias") { $0["shape"] = [1 << 31, 1 << 31, 1 << 31] })),
    checkpoint("unsupported dtype", "dtype.safetensors", editedCheckpoint(editTensor("norm.bias") { $0["dtype"] = "C64" })),
    // The tensor's bytes stay (a hole would be reported first); its name is one no ViT has.
    checkpoint("a required tensor missing", "missing-tensor.safetensors", editedCheckpoint { h in
      h["notes.blob"] = h.removeValue(forKey: "blocks.1.attn.qkv.weight")
    }),
    checkpoint("widths that disagree between tensors", "widths.safetensors", editedCheckpoint(editTensor("blocks.0.norm1.weight") { $0["shape"] = [16, 2] })),
    checkpoint("heads that do not divide the width", "heads.safetensors", editedCheckpoint { h in
      var meta = h["__metadata__"] as! [String: String]
      meta["num_heads"] = "5"
      h["__metadata__"] = meta
    }),
    // An empty tensor after the data: a well-formed file with one name no part of the model reads.
    BadInput(group: "checkpoint", what: "a tensor the loader would not use", file: ("unused.safetensors", editedCheckpoint { h in
      h["text_projection"] = ["dtype": "F32", "shape": [0], "data_offsets": [validCheckpoint.data.count, validCheckpoint.data.count]]
    }), arguments: ["flops", "--model", "FILE"], code: 65),
    BadInput(group: "checkpoint", what: "no such file", file: nil, arguments: ["inspect", "/nonexistent/model.safetensors"], code: 66),
    png("empty file", "empty.png", []),
    png("a text file", "text.png", Array("hello, this is not an image\n".utf8)),
    png("truncated PNG", "truncated.png", Array(validPNG.prefix(validPNG.count - 20))),
    png("PNG with a bad CRC", "bad-crc.png", pngBytes(width: 12, height: 12, breakCRC: true)),
    png("PNG of zero width", "zero-width.png", pngBytes(width: 0, height: 12)),
    png("PNG header claiming 1,000,000 x 1,000,000", "million.png", pngBytes(width: 1_000_000, height: 1_000_000)),
    png("1 KB progressive JPEG claiming 16384 x 16384", "claims.jpg", progressiveJPEGHeader(width: 16384, height: 16384)),
    BadInput(group: "image", what: "no such file", file: nil, arguments: ["report", "/nonexistent/image.png", "--model", model], code: 66),
    BadInput(group: "method spec", what: "unknown method", file: nil, arguments: ["report", image, "--model", model, "--method", "fastvit"], code: 64),
    BadInput(group: "method spec", what: "unknown key", file: nil, arguments: ["report", image, "--model", model, "--method", "tome:k=3"], code: 64),
    BadInput(group: "method spec", what: "value out of range", file: nil, arguments: ["report", image, "--model", model, "--method", "evit:keep=1.5"], code: 64),
    BadInput(group: "method spec", what: "cascade thresholds miscounted", file: nil, arguments: ["report", image, "--model", model, "--method", "dvt:thresholds=0.8"], code: 64),
    BadInput(group: "method spec", what: "importance file missing", file: nil, arguments: ["report", image, "--model", model, "--method", "upvit:importance=/nonexistent/i.json"], code: 66),
    BadInput(group: "flag", what: "unknown flag", file: nil, arguments: ["report", image, "--modle", model], code: 64),
    BadInput(group: "flag", what: "bad value", file: nil, arguments: ["eval", "--data", "/tmp", "--limit", "0"], code: 64),
    BadInput(group: "flag", what: "missing dataset", file: nil, arguments: ["eval", "--data", "/nonexistent/data", "--model", model], code: 66),
    // explore --maps reads the file before it needs a terminal, so these answer here as they would in one.
    BadInput(group: "maps file", what: "no such file", file: nil, arguments: ["explore", "--maps", "/nonexistent/maps.json"], code: 66),
    BadInput(group: "maps file", what: "not JSON", file: ("text.json", Array("hello, this is not JSON\n".utf8)),
             arguments: ["explore", "--maps", "FILE"], code: 65),
    BadInput(group: "maps file", what: "an eval result without maps", file: ("eval.json", Array(#"{"header": {}, "results": []}"#.utf8)),
             arguments: ["explore", "--maps", "FILE"], code: 65),
    // Counts for 3 patches of a 2x2 grid.
    BadInput(group: "maps file", what: "counts that do not fit the grid", file: ("short.json", Array(
      #"{"grid": [2, 2], "layers": 1, "methods": [{"method": "none", "images": 1, "counts": [[[1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]]}]}"#.utf8)),
             arguments: ["explore", "--maps", "FILE"], code: 65),
  ]
}()

@Suite("Bad inputs through the binary", .serialized)
struct BadInputTests {
  static let directory: String = {
    let d = NSTemporaryDirectory() + "tokenscope-bad-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }()

  /// Sanitizer runtimes reserve terabytes of shadow memory up front, so under `swift test --sanitize=...` the
  /// address-space limit is left out (the binary is instrumented too).
  static let sanitized = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

  /// Runs under `ulimit -v` 4 GiB and a 10 s kill: exit code, stderr, seconds.
  static func run(_ input: BadInput) throws -> (code: Int32, signalled: Bool, stderr: String, seconds: Double, path: String?) {
    var path: String?
    if let file = input.file {
      path = "\(directory)/\(file.name)"
      try Data(file.bytes).write(to: URL(fileURLWithPath: path!))
    }
    let arguments = input.arguments.map { $0 == "FILE" ? path! : $0 }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    let limit = sanitized ? "" : "ulimit -v 4194304; "
    p.arguments = ["-c", limit + #"exec timeout -s KILL 10 "$@""#, "bash", binaryPath] + arguments
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    let start = Date()
    try p.run()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    // timeout reports a KILL as 137; bash reports a signal death as 128 + n.
    return (p.terminationStatus, p.terminationReason == .uncaughtSignal || p.terminationStatus > 128, stderr,
            Date().timeIntervalSince(start), path)
  }

  /// The README's bad-input table, one string per row, in order.
  static let readmeRows: [String] = {
    let readme = (try? String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)) ?? ""
    let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let header = lines.firstIndex(of: "| input | tried | exit | message |") else { return [] }
    return Array(lines.dropFirst(header + 2).prefix { $0.hasPrefix("| ") })
  }()

  static func key(_ input: BadInput) -> String { "| \(input.group) | \(input.what) |" }

  /// The README row for a run: exit code and the first line of stderr, with paths shortened to what a reader can
  /// repeat (the written file's name, paths inside the repository relative to it).
  static func row(_ input: BadInput, code: Int32, stderr: String) -> String {
    let message = String(stderr.split(separator: "\n").first ?? "")
      .replacingOccurrences(of: directory + "/", with: "")
      .replacingOccurrences(of: repositoryRoot + "/", with: "")
      .replacingOccurrences(of: "|", with: "\\|")
    return "\(key(input)) \(code) | `\(message)` |"
  }

  @Test(arguments: badInputs)
  func answeredClearly(_ input: BadInput) throws {
    let r = try Self.run(input)
    #expect(!r.signalled && r.code == input.code, "exit \(r.code), expected \(input.code): \(r.stderr)")
    #expect(r.seconds < 10)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count >= 1 && (input.group == "flag" || lines.count == 1), "one line: \(r.stderr)")
    if let path = r.path { #expect(r.stderr.contains(path), "names the file: \(r.stderr)") }
    let measured = Self.row(input, code: r.code, stderr: r.stderr)
    #expect(Self.readmeRows.filter { $0.hasPrefix(Self.key(input) + " ") } == [measured],
            "the README's row differs from the run; as measured:\n\(measured)")
  }

  @Test func readmeTableHasOneRowPerInputInOrder() {
    #expect(Self.readmeRows.map { $0.components(separatedBy: " | ").prefix(2).joined(separator: " | ") + " |" }
            == badInputs.map(Self.key))
  }
}
