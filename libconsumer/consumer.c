#include "evbus/consumer.h"
