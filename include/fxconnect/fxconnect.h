// Everything a connector author includes.
#pragma once

#include "fxconnect/app.h"
#include "fxconnect/error.h"
#include "fxconnect/handler.h"
#include "fxconnect/legacy.h"
#include "fxconnect/message.h"
#include "fxconnect/registry.h"
