/* aigwctl — the aigw command line. Grows with the control socket; for now it
 * reads the pinned maps directly. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "aigwctl: no commands yet\n");
	return 2;
}
