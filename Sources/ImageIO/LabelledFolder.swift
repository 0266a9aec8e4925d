// A flat folder of images with a labels file, as ImageNet's validation set ships: LOC_val_solution.csv (ImageId,
// PredictionString, the label being the first synset of the prediction string) or a plain `file,label` CSV whose
// labels are class names (e.g. synsets) or model class indices.
extension Dataset {
  /// The images of `root` named by `labelsFile`. Names in the file may omit the extension (LOC_val_solution.csv
  /// does). Label names become classes in sorted order, like ImageFolder's folders, so the same class mapping
  /// applies to both; all-integer labels are model class indices and give no class names.
  public static func openLabelled(root: String, labelsFile: String) throws(DatasetError) -> Dataset {
    guard isDirectory(root) else { throw DatasetError("\(root): no such dataset folder", missing: true) }
    let bytes = try readMaybeGzip(labelsFile, limit: 1 << 30)
    let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    guard let first = lines.first else { throw DatasetError("\(labelsFile): empty labels file (expected file,label lines)") }
    let loc = first.lowercased().hasPrefix("imageid,predictionstring")
    let header = loc || first.lowercased() == "file,label" || first.lowercased() == "filename,label"
    // Files on disk by full name and by stem, so "ILSVRC2012_val_00000001" finds "ILSVRC2012_val_00000001.JPEG".
    var byName: [String: String] = [:]
    for file in listDirectory(root) {
      let lower = file.lowercased()
      guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else { continue }
      byName[file] = file
      if let dot = file.lastIndex(of: ".") { byName[String(file[..<dot]), default: file] = file }
    }
    var entries: [(path: String, label: String)] = []
    for (n, line) in lines.enumerated().dropFirst(header ? 1 : 0) {
      guard let comma = line.firstIndex(of: ",") else {
        throw DatasetError("\(labelsFile): line \(n + 1): expected file,label, got '\(line.prefix(60))'")
      }
      let name = String(line[..<comma]).trimmingWhitespace()
      var label = String(line[line.index(after: comma)...]).trimmingWhitespace()
      if loc { label = String(label.split(separator: " ").first ?? "") }
      guard !name.isEmpty, !label.isEmpty else { throw DatasetError("\(labelsFile): line \(n + 1): empty file name or label") }
      guard let file = byName[name] else {
        throw DatasetError("\(labelsFile): line \(n + 1): no PNG or JPEG file '\(name)' in \(root)", missing: true)
      }
      entries.append(("\(root)/\(file)", label))
    }
    guard !entries.isEmpty else { throw DatasetError("\(labelsFile): no labelled images") }
    // Sorted by path, as ImageFolder lists files, so --limit takes the same images whatever the CSV's row order.
    entries.sort { $0.path < $1.path }
    if entries.allSatisfy({ Int($0.label) != nil }) {
      let labels = entries.map { Int($0.label)! }
      if let bad = labels.first(where: { $0 < 0 }) { throw DatasetError("\(labelsFile): negative class index \(bad)") }
      return Dataset(name: root, source: .files(paths: entries.map(\.path)), labels: labels, classNames: nil)
    }
    let classes = Array(Set(entries.map(\.label))).sorted()
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, $0.offset) })
    return Dataset(name: root, source: .files(paths: entries.map(\.path)), labels: entries.map { index[$0.label]! }, classNames: classes)
  }
}

extension StringProtocol {
  func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
