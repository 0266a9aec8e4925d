// Lesson pages are read in the box under the maps, which shows at most seven rows of text: a longer page loses its
// last sentence without a sign. Every page is rendered on a 120x40 screen and read back from its box.
import Foundation
import Testing
import TestSupport
@testable import Explorer
import TUI

@Suite("Lesson texts")
struct LessonTextTests {
  @Test func everyPageIsShownWholeAt120Columns() throws {
    var state = try fixtureState()
    for (index, page) in Lesson.pages.enumerated() {
      Lesson.apply(index, to: &state)
      let lines = screen(state, 120, 40).lines
      // Under the box: the legend and the footer rows.
      let box = lines[(40 - 2 - Layout.lessonHeight)..<(40 - 2)]
      #expect(box.first?.contains("lesson \(index + 1)/\(Lesson.pages.count)") == true, "\(page.title): the box is where expected")
      // Text rows: after the top border, before the page hint and the bottom border. Each reads "│ text … │".
      let shown = box.dropFirst().prefix(Layout.lessonHeight - 3)
        .map { String($0.dropFirst(2).prefix { $0 != "│" }).trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: " ")
      #expect(shown == page.text.replacingOccurrences(of: "->", with: "→"), "\(page.title): the whole text is on screen")
    }
  }

  @Test(arguments: ["clustr", "dvt"])
  func emulatedMethodsSaySo(method: String) throws {
    let page = try #require(Lesson.pages.first { $0.methods == [method] })
    #expect(page.text.contains("training-free emulation") && page.text.contains("unmodified model"), "\(page.title)")
  }
}

@Suite("Lesson texts: where a method comes from")
struct LessonOriginTests {
  /// VisionZip and DToMe were made for the vision towers of vision-language models; their pages say so, and DToMe's
  /// that it needs calibration data.
  @Test(arguments: ["visionzip", "dymu"])
  func vlmMethodsSaySo(method: String) throws {
    let page = try #require(Lesson.pages.first { $0.methods == [method] })
    #expect(page.text.contains("designed for") && page.text.contains("vision-language"), "\(page.title)")
    if method == "dymu" { #expect(page.text.contains("calibration data")) }
  }

  /// Each new method's page opens on the view that shows its decision.
  @Test func newMethodPagesOpenOnTheirViews() throws {
    func view(_ method: String) -> TokenMapView? { Lesson.pages.first { $0.methods == [method] }?.view }
    #expect(view("pitome") == .score && view("atc") == .clusters && view("visionzip") == .roles && view("dymu") == .counts)
  }
}
