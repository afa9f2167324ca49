#include "flow/lists.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fxconnect::flow {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A directory of CSV files, removed afterwards.
class CsvListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ = std::filesystem::temp_directory_path() / ("fxc-lists-test-" + std::to_string(device()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "list.csv").string();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    auto path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  Result<ValueList> load(const std::string& content, const std::string& key = "name", const std::string& value = "code",
                         bool case_insensitive = false) {
    write("list.csv", content);
    return ValueList::from_csv("country", path_, key, value, case_insensitive);
  }

  std::string error(const std::string& content, const std::string& key = "name", const std::string& value = "code") {
    auto r = load(content, key, value);
    if (r.ok()) {
      ADD_FAILURE() << "expected an error for:\n" << content;
      return "";
    }
    EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
    return r.error().message;
  }

  std::filesystem::path dir_;
  std::string path_;
};

std::string found(const ValueList& list, std::string_view key) {
  auto v = list.find(key);
  return v ? std::string(*v) : "<none>";
}

// --------------------------------------------------------------------------------------------
// Inline lists

TEST(InlineListTest, FindsValues) {
  auto list = ValueList::from_entries("status", {{"A", "active"}, {"C", "closed"}, {"a", "lower a"}}, false);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->name(), "status");
  EXPECT_EQ(list->size(), 3U);
  EXPECT_EQ(found(list.value(), "A"), "active");
  EXPECT_EQ(found(list.value(), "a"), "lower a");
  EXPECT_EQ(found(list.value(), "C"), "closed");
  EXPECT_EQ(found(list.value(), "c"), "<none>");
  EXPECT_EQ(found(list.value(), " A"), "<none>");  // blanks are not trimmed
  EXPECT_EQ(found(list.value(), ""), "<none>");
}

TEST(InlineListTest, CaseInsensitive) {
  auto list = ValueList::from_entries("country", {{"Romania", "RO"}, {"Germany", "DE"}}, true);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(found(list.value(), "ROMANIA"), "RO");
  EXPECT_EQ(found(list.value(), "romania"), "RO");
  EXPECT_EQ(found(list.value(), "gErMaNy"), "DE");
  EXPECT_EQ(found(list.value(), "Romania "), "<none>");
}

TEST(InlineListTest, CaseFoldingIsAsciiOnly) {
  auto list = ValueList::from_entries("city", {{"Iași", "IS"}, {"ȘIRIA", "AR"}}, true);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(found(list.value(), "IAșI"), "IS");      // ASCII letters fold, ș stays ș
  EXPECT_EQ(found(list.value(), "IAȘI"), "<none>");  // Ș is not ș for ASCII folding
  EXPECT_EQ(found(list.value(), "șiria"), "<none>");
  EXPECT_EQ(found(list.value(), "Șiria"), "AR");
}

TEST(InlineListTest, DuplicateKeysAreErrors) {
  auto same = ValueList::from_entries("status", {{"A", "active"}, {"A", "again"}}, false);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(same.error().message, "list status: key 'A' appears twice");
  auto folded = ValueList::from_entries("status", {{"Active", "A"}, {"ACTIVE", "A"}}, true);
  ASSERT_FALSE(folded.ok());
  EXPECT_EQ(folded.error().message,
            "list status: keys 'Active' and 'ACTIVE' are the same key in a case-insensitive list");
  // Case sensitive: different keys.
  EXPECT_TRUE(ValueList::from_entries("status", {{"Active", "A"}, {"ACTIVE", "A"}}, false).ok());
}

TEST(InlineListTest, EmptyList) {
  auto list = ValueList::from_entries("nothing", {}, false);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 0U);
  EXPECT_EQ(found(list.value(), "x"), "<none>");
  EXPECT_EQ(list->not_found("x").message, "'x' is not in list nothing (the list is empty)");
}

// --------------------------------------------------------------------------------------------
// not_found

TEST(NotFoundTest, SuggestsTheClosestKeysFirst) {
  std::vector<std::pair<std::string, std::string>> entries = {
      {"Germany", "DE"},  {"France", "FR"}, {"Romania", "RO"}, {"Moldova", "MD"}, {"Hungary", "HU"},
      {"Bulgaria", "BG"}, {"Poland", "PL"}, {"Roman", "XX"},   {"Armenia", "AM"}, {"Oman", "OM"}};
  auto list = ValueList::from_entries("country", entries, false).value();
  auto e = list.not_found("Romnia");
  EXPECT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_FALSE(e.field.has_value());
  EXPECT_THAT(e.message, StartsWith("'Romnia' is not in list country; expected one of 'Romania', "));
  EXPECT_THAT(e.message, HasSubstr(", ... (10 entries)"));
  // Exactly five suggestions.
  auto suggestions = e.message.substr(e.message.find("one of "));
  EXPECT_EQ(std::count(suggestions.begin(), suggestions.end(), '\''), 10);
  // Distances are on folded text: a case-only difference is distance 0 in the ranking.
  EXPECT_THAT(list.not_found("GERMANY").message,
              StartsWith("'GERMANY' is not in list country; expected one of 'Germany', "));
  EXPECT_THAT(list.not_found("oman").message,
              StartsWith("'oman' is not in list country; expected one of 'Oman', 'Roman', "));
}

TEST(NotFoundTest, TiesKeepTheListOrder) {
  auto list = ValueList::from_entries("code", {{"AB", "1"}, {"AC", "2"}, {"AD", "3"}}, false).value();
  EXPECT_EQ(list.not_found("AX").message, "'AX' is not in list code; expected one of 'AB', 'AC', 'AD'");
  EXPECT_EQ(list.not_found("AD ").message, "'AD ' is not in list code; expected one of 'AD', 'AB', 'AC'");
}

TEST(NotFoundTest, ShortListsAreShownWhole) {
  auto list = ValueList::from_entries("s", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}, false).value();
  auto message = list.not_found("z").message;
  EXPECT_THAT(message, Not(HasSubstr("...")));
  EXPECT_THAT(message, Not(HasSubstr("entries")));
  EXPECT_EQ(message, "'z' is not in list s; expected one of 'a', 'b', 'c', 'd', 'e'");
}

TEST(NotFoundTest, LongKeysAreCut) {
  auto list = ValueList::from_entries("s", {{"a", "1"}}, false).value();
  auto message = list.not_found(std::string(5000, 'x')).message;
  EXPECT_LT(message.size(), 300U);
  EXPECT_THAT(message, HasSubstr("...' (5000 bytes)"));
}

// --------------------------------------------------------------------------------------------
// CSV files

TEST_F(CsvListTest, ReadsAHeaderAndRows) {
  auto list = load("name,code\nRomania,RO\nGermany,DE\n");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->name(), "country");
  EXPECT_EQ(list->size(), 2U);
  EXPECT_EQ(found(list.value(), "Romania"), "RO");
  EXPECT_EQ(found(list.value(), "Germany"), "DE");
  EXPECT_EQ(found(list.value(), "romania"), "<none>");
}

TEST_F(CsvListTest, PicksTheNamedColumns) {
  auto list = load("code,region,name\nRO,EU,Romania\nJP,Asia,Japan\n", "code", "name");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(found(list.value(), "JP"), "Japan");
  auto same = load("code,region,name\nRO,EU,Romania\n", "region", "region");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(found(same.value(), "EU"), "EU");
}

TEST_F(CsvListTest, QuotedFields) {
  auto list = load(
      "name,code\n"
      "\"Korea, Republic of\",KR\n"
      "\"Say \"\"hi\"\"\",HI\n"
      "\"\",EMPTYKEY?\n"
      "plain,\"quoted value\"\n"
      "\"two\nlines\",TL\n"
      "after,AF\n",
      "name", "code");
  // An empty key is an error (see below): take it out and read the rest.
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().message, path_ + ":4: the key (column 'name') is empty");
  list = load(
      "name,code\n"
      "\"Korea, Republic of\",KR\n"
      "\"Say \"\"hi\"\"\",HI\n"
      "plain,\"quoted value\"\n"
      "\"two\nlines\",TL\n"
      "after,AF\n"
      "\"\"\"\",QUOTE\n");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(found(list.value(), "Korea, Republic of"), "KR");
  EXPECT_EQ(found(list.value(), "Say \"hi\""), "HI");
  EXPECT_EQ(found(list.value(), "plain"), "quoted value");
  EXPECT_EQ(found(list.value(), "two\nlines"), "TL");
  EXPECT_EQ(found(list.value(), "after"), "AF");
  EXPECT_EQ(found(list.value(), "\""), "QUOTE");
  EXPECT_EQ(list->size(), 6U);
}

TEST_F(CsvListTest, LineEndingsBomAndBlankLines) {
  auto crlf = load("name,code\r\nRomania,RO\r\n\"Multi\r\nline\",ML\r\nGermany,DE");  // no final line break
  ASSERT_TRUE(crlf.ok()) << crlf.error().message;
  EXPECT_EQ(found(crlf.value(), "Romania"), "RO");
  EXPECT_EQ(found(crlf.value(), "Multi\r\nline"), "ML");
  EXPECT_EQ(found(crlf.value(), "Germany"), "DE");
  auto bom = load("\xEF\xBB\xBFname,code\nRomania,RO\n");
  ASSERT_TRUE(bom.ok()) << bom.error().message;  // the header's first column is "name", not "\xEF\xBB\xBFname"
  EXPECT_EQ(found(bom.value(), "Romania"), "RO");
  auto blank = load("\nname,code\n\nRomania,RO\n\r\n\nGermany,DE\n\n");
  ASSERT_TRUE(blank.ok()) << blank.error().message;
  EXPECT_EQ(blank->size(), 2U);
  // Fields keep their blanks.
  auto spaces = load("name,code\n Romania , RO \n");
  ASSERT_TRUE(spaces.ok());
  EXPECT_EQ(found(spaces.value(), " Romania "), " RO ");
  EXPECT_EQ(found(spaces.value(), "Romania"), "<none>");
  // Empty values are values.
  auto empty = load("name,code\nNowhere,\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(found(empty.value(), "Nowhere"), "");
}

TEST_F(CsvListTest, Aliases) {
  auto list = load("name,code\nCzechia,CZ\nCzech Republic,CZ\nRomania,RO\nCzechia,CZ\n");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(found(list.value(), "Czechia"), "CZ");
  EXPECT_EQ(found(list.value(), "Czech Republic"), "CZ");
  EXPECT_EQ(list->size(), 3U);  // the repeated row counts once
}

TEST_F(CsvListTest, CaseInsensitive) {
  auto list = load("name,code\nRomania,RO\nROMANIA,RO\nGermany,DE\n", "name", "code", true);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 2U);
  EXPECT_EQ(found(list.value(), "rOmAnIa"), "RO");
  EXPECT_EQ(found(list.value(), "GERMANY"), "DE");
  auto conflict = load("name,code\nRomania,RO\nGermany,DE\nROMANIA,RU\n", "name", "code", true);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().message, path_ + ":4: key 'ROMANIA' is already on line 2 with value 'RO' (here 'RU')");
}

TEST_F(CsvListTest, TheSameKeyWithAnotherValueIsAnError) {
  EXPECT_EQ(error("name,code\nRomania,RO\nGermany,DE\nRomania,RU\n"),
            path_ + ":4: key 'Romania' is already on line 2 with value 'RO' (here 'RU')");
}

TEST_F(CsvListTest, FieldCountsMustMatchTheHeader) {
  EXPECT_EQ(error("name,code\nRomania,RO\nGermany,DE,extra\n"), path_ + ":3: 3 fields, the header has 2");
  EXPECT_EQ(error("name,code\nRomania\n"), path_ + ":2: 1 field, the header has 2");
  // Line numbers count the lines inside quoted fields and blank lines.
  EXPECT_EQ(error("name,code\n\"a\nb\",1\n\nx,1,2\n"), path_ + ":5: 3 fields, the header has 2");
  EXPECT_EQ(error("name,code\r\n\"a\r\nb\",1\r\nx,1,2\r\n"), path_ + ":4: 3 fields, the header has 2");
}

TEST_F(CsvListTest, MalformedQuotes) {
  EXPECT_EQ(error("name,code\nRomania,RO\n\"Open,XX\n"),
            path_ + ":3: a quoted field is not closed (the file ends inside it)");
  EXPECT_EQ(error("name,code\n\"Romania\"x,RO\n"),
            path_ + ":2: text after the closing quote of field 1 (a quote inside a field is written \"\")");
  EXPECT_EQ(error("name,code\nRo\"mania,RO\n"),
            path_ + ":2: a quote inside unquoted field 1 (quote the whole field and write a quote as \"\")");
  EXPECT_THAT(error("name,code\nRomania, \"RO\"\n"), HasSubstr(":2: a quote inside unquoted field 2"));
}

TEST_F(CsvListTest, HeaderProblems) {
  EXPECT_EQ(error("name,iso2\nRomania,RO\n"),
            path_ + ":1: no value column 'code' in the header (columns: 'name', 'iso2')");
  EXPECT_EQ(error("country,code\nRomania,RO\n"),
            path_ + ":1: no key column 'name' in the header (columns: 'country', 'code')");
  EXPECT_EQ(error("Name,code\nRomania,RO\n"),
            path_ + ":1: no key column 'name' in the header (columns: 'Name', 'code')");
  EXPECT_EQ(error("name,code,name\nRomania,RO,X\n"), path_ + ":1: the header names column 'name' twice");
  EXPECT_EQ(error(""), path_ + ": the file is empty (expected a header row)");
  EXPECT_EQ(error("\n\n"), path_ + ": the file is empty (expected a header row)");
  // A header alone: an empty list.
  auto header_only = load("name,code\n");
  ASSERT_TRUE(header_only.ok());
  EXPECT_EQ(header_only->size(), 0U);
}

TEST_F(CsvListTest, AMissingFile) {
  auto r = ValueList::from_csv("country", (dir_ / "absent.csv").string(), "name", "code", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(r.error().message, (dir_ / "absent.csv").string() + ": cannot be read (No such file or directory)");
}

TEST_F(CsvListTest, NotFoundOnALargeList) {
  std::string csv = "name,code\n";
  for (int i = 0; i < 245; ++i) csv += "Country" + std::to_string(i) + ",C" + std::to_string(i) + "\n";
  csv += "Romania,RO\nGermany,DE\nFrance,FR\nSpain,ES\nItaly,IT\n";
  auto list = load(csv);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 250U);
  auto message = list->not_found("Romnia").message;
  EXPECT_THAT(message, StartsWith("'Romnia' is not in list country; expected one of 'Romania', "));
  EXPECT_THAT(message, HasSubstr("(250 entries)"));
  EXPECT_THAT(list->not_found("Atlantis").message, StartsWith("'Atlantis' is not in list country; expected one of "));
}

}  // namespace
}  // namespace fxconnect::flow
