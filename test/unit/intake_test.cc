#include "runtime/intake.h"

#include <gtest/gtest.h>

namespace fxconnect::runtime {
namespace {

using std::chrono::seconds;
using Action = Intake::Action;

TEST(Intake, TheBoundOnRequestsStopsTakingAndLeavingItTakesAgain) {
  Intake intake(10, 1'000'000, seconds(5));
  auto now = Intake::Clock::now();
  EXPECT_EQ(intake.changed(9, 100, now), Action::none);
  EXPECT_EQ(intake.changed(10, 100, now), Action::stop_taking);
  EXPECT_EQ(intake.changed(10, 100, now), Action::none) << "once";
  EXPECT_EQ(intake.changed(9, 100, now), Action::resume);
  EXPECT_EQ(intake.holds(), 1u);
}

TEST(Intake, TheBoundOnBytesCountsToo) {
  Intake intake(1000, 4096, seconds(5));
  auto now = Intake::Clock::now();
  EXPECT_EQ(intake.changed(1, 4096, now), Action::stop_taking);
  EXPECT_EQ(intake.changed(1, 4095, now), Action::resume);
}

TEST(Intake, HeldLongEnoughThePartitionsArePausedAndLaterResumed) {
  Intake intake(1, 1'000'000, seconds(5));
  auto now = Intake::Clock::now();
  intake.changed(1, 1, now);
  EXPECT_EQ(intake.next_wakeup(), now + seconds(5));
  EXPECT_EQ(intake.on_time(now + seconds(4)), Action::none);
  EXPECT_EQ(intake.on_time(now + seconds(5)), Action::pause);
  EXPECT_TRUE(intake.paused());
  EXPECT_FALSE(intake.next_wakeup());
  EXPECT_EQ(intake.changed(0, 0, now + seconds(6)), Action::resume_paused);
  EXPECT_FALSE(intake.paused());
}

TEST(Intake, AfterTheStopNothingResumes) {
  Intake intake(1, 1'000'000, seconds(5));
  auto now = Intake::Clock::now();
  intake.changed(1, 1, now);
  intake.stop();
  EXPECT_EQ(intake.changed(0, 0, now), Action::none);
  EXPECT_EQ(intake.on_time(now + seconds(10)), Action::none);
}

}  // namespace
}  // namespace fxconnect::runtime
