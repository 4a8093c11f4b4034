<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html"/>
  <xsl:template match="/">
    <html><body><table>
      <xsl:for-each select="//order"><tr><td><xsl:value-of select="customer"/></td><td><br/></td></tr></xsl:for-each>
    </table></body></html>
  </xsl:template>
</xsl:stylesheet>
