// Finding the bundled samples (samples/models/fashion-vit.safetensors and samples/images/), so that `tokenscope` works
// with no arguments both through `swift run` in the repository and as a binary copied elsewhere.
// Search order: $TOKENSCOPE_SAMPLES; a `samples` folder beside the executable or in any folder above it (covers
// .build/<config>/tokenscope in a checkout); <prefix>/share/tokenscope/samples for an installed binary; ./samples.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum Samples {
  static let modelPath = "models/fashion-vit.safetensors"

  static func fileExists(_ path: String) -> Bool { access(path, R_OK) == 0 }

  static var executableDirectory: String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    let path = buffer[0..<n].withUnsafeBufferPointer { p in String(decoding: p.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
  }

  /// The samples folder, or nil with the places that were tried.
  static func directory() -> (path: String?, tried: [String]) {
    var tried: [String] = []
    if let env = getenv("TOKENSCOPE_SAMPLES").map({ String(cString: $0) }), !env.isEmpty {
      tried.append(env)
      if fileExists("\(env)/\(modelPath)") { return (env, tried) }
    }
    if var dir = executableDirectory {
      for _ in 0..<8 {
        for candidate in ["\(dir)/samples", "\(dir)/share/tokenscope/samples"] {
          tried.append(candidate)
          if fileExists("\(candidate)/\(modelPath)") { return (candidate, tried) }
        }
        guard let slash = dir.lastIndex(of: "/"), !dir.isEmpty else { break }
        dir = String(dir[..<slash])
      }
    }
    tried.append("./samples")
    if fileExists("samples/\(modelPath)") { return ("samples", tried) }
    return (nil, tried)
  }

  static func defaultModel() throws -> String {
    let (dir, tried) = directory()
    guard let dir else {
      throw CLIError("no --model given and the bundled model (samples/\(modelPath)) was not found; set TOKENSCOPE_SAMPLES to the samples folder (tried \(tried.count) places, e.g. \(tried.first ?? "-"))", code: CLIError.noInput)
    }
    return "\(dir)/\(modelPath)"
  }

  /// A bundled image: the first Fashion-MNIST sample for a one-channel model (the bundled one), the first photo for an
  /// RGB model (an ImageNet checkpoint).
  static func defaultImage(channels: Int) throws -> String {
    let (dir, _) = directory()
    guard let dir else { throw CLIError("no image given and the bundled samples were not found; set TOKENSCOPE_SAMPLES", code: CLIError.noInput) }
    for folder in channels == 1 ? ["images/fashion", "images/photos"] : ["images/photos", "images/fashion"] {
      let files = listFiles("\(dir)/\(folder)").filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
      if let first = files.first { return "\(dir)/\(folder)/\(first)" }
    }
    throw CLIError("no image given and no sample image found in \(dir)/images", code: CLIError.noInput)
  }

  /// Every bundled image, the folders in the same order as `defaultImage` (for the explorer's `n`/`N`).
  static func images(channels: Int) -> [String] {
    guard let dir = directory().path else { return [] }
    return (channels == 1 ? ["images/fashion", "images/photos"] : ["images/photos", "images/fashion"]).flatMap { folder in
      listFiles("\(dir)/\(folder)").filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted().map { "\(dir)/\(folder)/\($0)" }
    }
  }

  static func listFiles(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
      let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
      if !name.hasPrefix(".") { names.append(name) }
    }
    return names
  }
}
