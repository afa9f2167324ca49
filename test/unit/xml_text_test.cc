// fxconnect::xml_escape: what SOAP bodies (flow templates, handlers) and the HTML report put around
// request values; a value must never close an element or an attribute.
#include <gtest/gtest.h>

#include "fxconnect/legacy.h"

namespace {

TEST(XmlText, EscapesTheFiveSpecialCharactersAndKeepsEverythingElse) {
  EXPECT_EQ(fxconnect::xml_escape("a<b>c&d\"e'f"), "a&lt;b&gt;c&amp;d&quot;e&apos;f");
  EXPECT_EQ(fxconnect::xml_escape("]]>"), "]]&gt;");
  EXPECT_EQ(fxconnect::xml_escape("&amp;"), "&amp;amp;");  // escaped again: the input is text, not XML
  const std::string kept = "plain \xc3\xa9\xe2\x82\xac\n\t" + std::string(1, '\0');
  EXPECT_EQ(fxconnect::xml_escape(kept), kept);
  EXPECT_EQ(fxconnect::xml_escape(""), "");
}

}  // namespace
