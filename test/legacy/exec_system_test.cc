// Placeholder: the tests of this system are being written.
#include <gtest/gtest.h>
