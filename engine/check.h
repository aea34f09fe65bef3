// Errors for engine, data, nas and tools code: bnas::Error, BNAS_CHECK and BNAS_FAIL, defined in
// the lowest layer (kernels/check.h) because the kernels throw them too.
#pragma once
#include "kernels/check.h"
