// Which model class each dataset class is. ImageNet-style trees name their folders by WordNet synset
// (n01440764/...); a 1000-class head takes them in timm's order (ImageNetSynsets). --class-map FILE gives any other
// order: one class name per line, line i naming model class i; only the first word of a line counts, so ImageNet's
// LOC_synset_mapping.txt ("n01440764 tench, Tinca tinca") works as it is.
import Foundation
import ImageIO
import ViTEngine

enum ClassMapping {
  static func isWordNetID(_ s: String) -> Bool {
    s.count == 9 && s.first == "n" && s.dropFirst().allSatisfy(\.isASCII) && s.dropFirst().allSatisfy(\.isNumber)
  }

  /// Dataset class -> model class, or nil when the dataset's labels are the model's indices already.
  static func resolve(dataset: Dataset, model: ViTModel, classMap: String?) throws -> [Int]? {
    let classes = model.shape.classes
    guard let names = dataset.classNames else {
      if let classMap { throw CLIError("--class-map \(classMap): \(dataset.name) has numeric labels, which are model classes already", code: CLIError.usage) }
      if let bad = dataset.labels.first(where: { $0 >= classes }), classes > 0 {
        throw CLIError("\(dataset.name): label \(bad) is not a class of the model (\(classes) classes)", code: CLIError.badData)
      }
      return nil
    }
    if let classMap {
      guard let data = FileManager.default.contents(atPath: classMap) else {
        throw CLIError("--class-map \(classMap): cannot read the file", code: FileManager.default.fileExists(atPath: classMap) ? CLIError.ioError : CLIError.noInput)
      }
      let order = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        .compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).first.map(String.init) }
      return try map(names, order: order, source: "--class-map \(classMap)", dataset: dataset, classes: classes)
    }
    if names.allSatisfy(isWordNetID) {
      guard classes == ImageNetSynsets.wnids.count else {
        throw CLIError("\(dataset.name): class folders are WordNet synsets, but the model has \(classes) classes, not ImageNet-1k's 1000 (give --class-map FILE)", code: CLIError.usage)
      }
      return try map(names, order: ImageNetSynsets.wnids, source: "the built-in ImageNet-1k synset list", dataset: dataset, classes: classes)
    }
    return EvalCommand.labelMap(dataset: dataset, model: model)
  }

  static func map(_ names: [String], order: [String], source: String, dataset: Dataset, classes: Int) throws -> [Int] {
    let index = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
    return try names.map { name in
      guard let i = index[name] else {
        throw CLIError("\(source) has no class '\(name)' (a class of \(dataset.name))", code: CLIError.badData)
      }
      guard i < classes else {
        throw CLIError("\(source): '\(name)' is class \(i), but the model has \(classes) classes", code: CLIError.badData)
      }
      return i
    }
  }
}
