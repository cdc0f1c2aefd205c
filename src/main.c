/* gost: flags → config → run. (Placeholder entry during bring-up; replaced by the real CLI.) */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "gost %s: bring-up build\n", GOST_VERSION);
    return 1;
}
