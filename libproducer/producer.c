#include "evbus/producer.h"
