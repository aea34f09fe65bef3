// The engine's element types are the kernels layer's (kernels/dtype.h).
#pragma once
#include "kernels/dtype.h"
