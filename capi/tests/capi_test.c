#include "chronolog_capi.h"
int main(void) {
    return clc_abi_version() == 0;
}
