// Beast is compiled once, here (BOOST_BEAST_SEPARATE_COMPILATION).
#include <utility>

#include <boost/beast/src.hpp>
