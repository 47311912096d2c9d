#include <stdio.h>
int main(void)
{
    puts("weir " WEIR_VERSION);
    return 0;
}
