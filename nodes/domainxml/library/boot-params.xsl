<?xml version="1.0" encoding="UTF-8"?>
<!--
  Boot parameters from user data (the Eucalyptus 3 "image creation in the cloud" recipe,
  without its sed substitution): the value of the last "bootparams=..." line of the
  instance's user data arrives as the XSLT parameter $bootparams and is appended, after a
  space, to the kernel command line in <os><cmdline>; a kernel-booted domain without a
  <cmdline> gets one. Use it to let users pass kernel arguments (an installer's ks= or vnc,
  console=, single) to instances booted from a kernel and ramdisk. With empty user data, or
  for instances that boot from their disk, nothing changes. Users choose these arguments:
  enable it only where they may.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="bootparams" select="''"/>
  <xsl:variable name="extra" select="normalize-space($bootparams)"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <xsl:template match="/domain/os/cmdline">
    <cmdline>
      <xsl:choose>
        <xsl:when test="$extra = ''">
          <xsl:value-of select="."/>
        </xsl:when>
        <xsl:when test="normalize-space(.) = ''">
          <xsl:value-of select="$extra"/>
        </xsl:when>
        <xsl:otherwise>
          <xsl:value-of select="concat(normalize-space(.), ' ', $extra)"/>
        </xsl:otherwise>
      </xsl:choose>
    </cmdline>
  </xsl:template>

  <xsl:template match="/domain/os[kernel and not(cmdline)]">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
      <xsl:if test="$extra != ''">
        <cmdline><xsl:value-of select="$extra"/></cmdline>
      </xsl:if>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
