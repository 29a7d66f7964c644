# SB_STATIC_ENCLAVE: sealbid-enclave for the Nitro Enclave image, with as
# much as Debian 12 can give statically linked into the binary.
#
# Included after the find_package/pkg_check_modules calls of CMakeLists.txt:
# it re-points the imported targets the layers already link (OpenSSL::SSL,
# OpenSSL::Crypto, PkgConfig::CURL, PkgConfig::JANSSON) at the archives from
# the Debian -dev packages, so no layer's build file changes.
#
# Static (.a from Debian 12 -dev packages):
#   libcurl (libcurl4-openssl-dev), OpenSSL libssl/libcrypto (libssl-dev),
#   jansson, nghttp2, libssh2, libpsl, libidn2, libunistring, zstd,
#   brotli, zlib.
# Dynamic, copied into the image's root file system with the loader by
# scripts/build-enclave-static.sh (Debian ships no usable archive):
#   glibc (static glibc cannot be trusted with dlopen/NSS and Debian does not
#   support it), libcbor (no .a in libcbor-dev 0.8), GSS-API/Kerberos
#   (libkrb5-dev ships no .a), OpenLDAP (libldap.a needs libsasl2.a, whose
#   plugins are dlopen'ed, and GnuTLS), librtmp (needs GnuTLS, whose static
#   deps p11-kit/libtasn1 are not packaged as archives).
# Debian's libcurl.a is built with every protocol: its protocol table refers
# to LDAP, RTMP, SSH and GSS-API code, so those libraries come along even
# though sealbid only speaks HTTPS. Only a curl built from source (or musl
# with Alpine's static packages) would avoid them; the image build must use
# Debian's pinned binaries, so it does not.

set(SB_STATIC_LIBDIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})

# sb_static_lib(VAR file): the full path of a library file, or a clear error.
function(sb_static_lib var file)
  find_file(${var} ${file} PATHS ${SB_STATIC_LIBDIR} /usr/lib /usr/lib64 NO_DEFAULT_PATH)
  if(NOT ${var})
    message(FATAL_ERROR "SB_STATIC_ENCLAVE: ${file} not found (scripts/install-deps.sh "
                        "installs the -dev packages that ship it)")
  endif()
endfunction()

foreach(a curl nghttp2 ssh2 psl idn2 unistring ssl crypto jansson zstd
          brotlidec brotlicommon z)
  sb_static_lib(SB_A_${a} lib${a}.a)
endforeach()
foreach(so gssapi_krb5 ldap lber rtmp)
  sb_static_lib(SB_SO_${so} lib${so}.so)
endforeach()

# OpenSSL: the archives, with what libcrypto.a itself needs.
set_target_properties(OpenSSL::Crypto PROPERTIES IMPORTED_LOCATION ${SB_A_crypto}
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS}")
set_target_properties(OpenSSL::SSL PROPERTIES IMPORTED_LOCATION ${SB_A_ssl}
  INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)

# libcurl and its dependencies, each archive before the ones it uses
# (`pkg-config --static --libs libcurl libpsl libssh2`).
set_target_properties(PkgConfig::CURL PROPERTIES INTERFACE_LINK_LIBRARIES
  "${SB_A_curl};${SB_A_nghttp2};${SB_A_ssh2};${SB_A_psl};${SB_A_idn2};${SB_A_unistring};OpenSSL::SSL;${SB_A_zstd};${SB_A_brotlidec};${SB_A_brotlicommon};${SB_A_z};${SB_SO_gssapi_krb5};${SB_SO_ldap};${SB_SO_lber};${SB_SO_rtmp}")
set_target_properties(PkgConfig::JANSSON PROPERTIES INTERFACE_LINK_LIBRARIES ${SB_A_jansson})

# The image holds the enclave binary only; the rest of the tree still
# configures (the layers are shared) but only sealbid-enclave is built.
set(SB_STATIC_ARCHIVES ${SB_A_curl} ${SB_A_nghttp2} ${SB_A_ssh2} ${SB_A_psl} ${SB_A_idn2}
    ${SB_A_unistring} ${SB_A_ssl} ${SB_A_crypto} ${SB_A_jansson} ${SB_A_zstd}
    ${SB_A_brotlidec} ${SB_A_brotlicommon} ${SB_A_z})
string(REPLACE ";" "\n" _sb_static_list "${SB_STATIC_ARCHIVES}")
file(WRITE ${PROJECT_BINARY_DIR}/static-archives.txt "${_sb_static_list}\n")
