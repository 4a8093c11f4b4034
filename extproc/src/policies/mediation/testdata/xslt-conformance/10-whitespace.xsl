<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="no" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:preserve-space elements="customer"/>
  <xsl:template match="/"><r><xsl:copy-of select="orders/order[1]"/>[<xsl:value-of select="normalize-space('  a   b  ')"/>]</r></xsl:template>
</xsl:stylesheet>
