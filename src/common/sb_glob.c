#include "common/sb_glob.h"

#include <stddef.h>

static int fold(int c, bool ic)
{
	return ic && c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool sb_glob_match(const char *pattern, const char *text, bool ic)
{
	const char *star = NULL, *resume = NULL;

	/* Linear-time wildcard match: remember the last '*' and retry from there. */
	while (*text != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = text;
		} else if (*pattern != '\0' &&
			   (*pattern == '?' || fold(*pattern, ic) == fold(*text, ic))) {
			pattern++;
			text++;
		} else if (star != NULL) {
			pattern = star + 1;
			text = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}
